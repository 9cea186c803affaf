"""Servers fishchips runs beside the broker: PostgreSQL, a Kafka Connect worker."""
