"""SQLAlchemy models, the append-only journal, read queries and migrations.

- `database`: engines for SQLite and PostgreSQL; `migrate`: alembic, without an alembic.ini
- `types`: exact decimals and UTC datetimes on both databases; `models`: the tables
- `codec`: messages to JSON and back; `journal_store`: append and read the journal;
  `projections`: what each event changes in the read tables, in the same transaction
- `users`: user records; `errors`: what this package raises; `scratch`: throwaway
  PostgreSQL databases for tests and benchmarks

Nothing here imports pykka, tornado or ccxt; URLs and paths come in as arguments.
"""
