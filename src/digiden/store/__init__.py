"""Persistence: SQLAlchemy 2.0 tables, Alembic migrations and queries (SQLite and PostgreSQL)."""
