"""Where roles keep what they learn: the accountant's books (SQLite or PostgreSQL)."""
