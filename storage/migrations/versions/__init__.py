"""One module per schema revision, loaded by alembic by path (the names start with digits)."""
