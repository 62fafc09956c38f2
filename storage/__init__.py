"""SQLAlchemy models, the append-only journal, read queries and migrations."""
