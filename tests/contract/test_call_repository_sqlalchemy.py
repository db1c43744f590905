from collections.abc import AsyncIterator

import pytest

from tests.contract.call_repository_contract import CallRepositoryContract
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[SqlAlchemyCallRepository]:
    database = Database(database_url)
    await database.migrate()
    yield SqlAlchemyCallRepository(database)
    await database.dispose()


class TestSqlAlchemyCallRepository(CallRepositoryContract):
    """On SQLite and on PostgreSQL (the `database_url` fixture)."""
