"""Real local servers that fishchips starts and stops itself, besides the Kafka broker."""
