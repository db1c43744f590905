from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.call_repository_contract import CallRepositoryContract
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository


@pytest.fixture
async def repository(tmp_path: Path) -> AsyncIterator[SqlAlchemyCallRepository]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await database.migrate()
    yield SqlAlchemyCallRepository(database)
    await database.dispose()


class TestSqlAlchemyCallRepositoryOnSqlite(CallRepositoryContract):
    pass
