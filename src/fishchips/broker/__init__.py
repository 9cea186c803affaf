"""Provisioning and running a real local Apache Kafka broker."""
