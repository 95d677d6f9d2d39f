"""The archive's catalogue: a database of what the bucket holds and what sync concluded.

`schema` declares the tables (SQLAlchemy Core, portable types only: the same code runs on
SQLite and PostgreSQL), `migrations` brings a database to the current version, `db` opens it
and offers the few typed queries sync needs.
"""
