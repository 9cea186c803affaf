"""Real local servers that fishchips starts and stops itself beside the Kafka broker: PostgreSQL, Redis, a Kafka Connect worker."""
