"""Kafka clients for the shop: connection settings, client factories, topics, inspection."""
