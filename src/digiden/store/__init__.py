"""Persistence: SQLAlchemy 2.0 tables, Alembic migrations and queries (SQLite and PostgreSQL)."""

# The consultation desk's tables live in their own module on the same Base; importing it here
# means Base.metadata holds them whenever anything of the store is imported (migrations, tests).
from digiden.store import consult_models as consult_models  # noqa: E402,F401
