"""Call records in SQL (SQLite by default, PostgreSQL via DATABASE_URL), SQLAlchemy 2 async."""

from voice_agent.adapters.sqlalchemy.database import Database, SchemaBehindError
from voice_agent.adapters.sqlalchemy.repository import SqlAlchemyCallRepository

__all__ = ["Database", "SchemaBehindError", "SqlAlchemyCallRepository"]
