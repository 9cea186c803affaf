"""The shop's actors: each binds the shop's rules to Kafka clients."""
