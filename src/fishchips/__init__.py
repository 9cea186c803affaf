"""fishchips: learn, demonstrate and test Apache Kafka with a fish-and-chip shop."""

__version__ = "0.1.0"
