import logging
import traceback
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.contract.call_repository_contract import CallRepositoryContract
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.session.recorder import CallRecorder
from voice_agent.domain.call import Call
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

    recorder = CallRecorder(repository, call.id)
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
