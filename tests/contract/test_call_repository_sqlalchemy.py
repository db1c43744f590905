import logging
import sqlite3
import traceback
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.contract.call_repository_contract import CallRepositoryContract
from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.session.recorder import CallRecorder
from voice_agent.domain.call import Call, CallStatus, EndReason
from voice_agent.domain.turn import Role, Turn


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[SqlAlchemyCallRepository]:
    database = Database(database_url)
    await database.migrate()
    yield SqlAlchemyCallRepository(database)
    await database.dispose()


class TestSqlAlchemyCallRepository(CallRepositoryContract):
    """On SQLite and on PostgreSQL (the `database_url` fixture)."""


TRANSCRIPT = "my card number is 4111 1111 1111 1111 and my name is Ada Lovelace"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await database.migrate()
    yield database
    await database.dispose()


async def test_a_failing_insert_never_shows_what_it_was_storing(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLAlchemy's errors quote the statement's parameters: a transcript, a caller's number.
    Neither the raised error nor the recorder's log line may carry them."""
    repository = SqlAlchemyCallRepository(database)
    call = Call(caller_number="+15550100123", started_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    await repository.save_call(call)
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_turns BEFORE INSERT ON turns "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        )
    turn = Turn(Role.CALLER, TRANSCRIPT, 0, call.started_at)
    with pytest.raises(Exception, match="disk says no") as raised:
        await repository.save_turn(call.id, turn)
    rendered = "".join(traceback.format_exception(raised.value))
    assert "INSERT INTO turns" in rendered
    assert "Ada Lovelace" not in rendered

    recorder = CallRecorder(repository, call.id, clock=LoopClock())
    recorder.start()
    recorder.save_turn(turn)
    with caplog.at_level(logging.ERROR):
        await recorder.close()
    assert recorder.failures == 1
    (record,) = caplog.records
    logged = record.getMessage() + "".join(traceback.format_exception(*record.exc_info or ()))
    assert "disk says no" in logged
    assert "Ada Lovelace" not in logged
    assert "4111" not in logged


async def test_a_failed_write_is_rolled_back_and_the_next_writes_succeed(
    database: Database,
) -> None:
    repository = SqlAlchemyCallRepository(database)
    faults = {"left": 1}

    def locked_once(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO turns") and faults["left"]:
            faults["left"] -= 1
            raise sqlite3.OperationalError("database is locked")

    event.listen(database.engine.sync_engine, "before_cursor_execute", locked_once)
    started = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    call = Call(caller_number="+15550100", started_at=started)
    await repository.save_call(call)
    lost = Turn(Role.CALLER, "lost", index=0, started_at=started)
    with pytest.raises(ProviderUnavailable, match="database is locked") as failure:
        await repository.save_turn(call.id, lost)
    assert failure.value.retryable
    await repository.save_turn(call.id, Turn(Role.CALLER, "kept", index=1, started_at=started))
    call.end(EndReason.CALLER_HUNG_UP, started)
    await repository.save_call(call)
    stored = await repository.get(call.id)
    assert stored is not None
    assert [t.text for t in stored.turns] == ["kept"]
    assert stored.status is CallStatus.COMPLETED
