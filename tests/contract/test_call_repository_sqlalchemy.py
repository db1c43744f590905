import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.contract.call_repository_contract import T0, CallRepositoryContract
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.domain.call import Call, CallStatus, EndReason
from voice_agent.domain.turn import Role, Turn


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
def repository(database: Database) -> SqlAlchemyCallRepository:
    return SqlAlchemyCallRepository(database)


class TestSqlAlchemyCallRepositoryOnSqlite(CallRepositoryContract):
    pass


async def test_a_failed_write_is_rolled_back_and_the_next_writes_succeed(
    database: Database, repository: SqlAlchemyCallRepository
) -> None:
    faults = {"left": 1}

    def locked_once(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO turns") and faults["left"]:
            faults["left"] -= 1
            raise sqlite3.OperationalError("database is locked")

    event.listen(database.engine.sync_engine, "before_cursor_execute", locked_once)
    call = Call(caller_number="+15550100", started_at=T0)
    await repository.save_call(call)
    lost = Turn(Role.CALLER, "lost", index=0, started_at=T0)
    with pytest.raises(ProviderUnavailable, match="database is locked") as failure:
        await repository.save_turn(call.id, lost)
    assert failure.value.retryable
    await repository.save_turn(call.id, Turn(Role.CALLER, "kept", index=1, started_at=T0))
    call.end(EndReason.CALLER_HUNG_UP, T0)
    await repository.save_call(call)
    stored = await repository.get(call.id)
    assert stored is not None
    assert [t.text for t in stored.turns] == ["kept"]
    assert stored.status is CallStatus.COMPLETED
