"""Where roles keep what they learn: the accountant's books (SQLite or PostgreSQL), the hot cabinet (Redis)."""
