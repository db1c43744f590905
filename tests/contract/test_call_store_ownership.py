"""Two processes on one store: the second to start must not abort the calls the first is
running; only the calls of a process that is gone are aborted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from voice_agent.adapters.sqlalchemy import Database
from voice_agent.domain.call import Call, CallStatus
from voice_agent.entrypoints.bootstrap.store import open_call_store


async def _url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    database = Database(url)
    await database.migrate()
    await database.dispose()
    return url


async def test_a_second_process_leaves_the_live_calls_of_the_first_alone(tmp_path: Path) -> None:
    url = await _url(tmp_path)
    first_db, first = await open_call_store(url)
    second_db: Database | None = None
    try:
        call = Call(caller_number="+15550100", started_at=datetime.now(UTC))
        await first.save_call(call)
        second_db, second = await open_call_store(url)
        stored = await second.get(call.id)
        assert stored is not None
        assert stored.status is CallStatus.ACTIVE
        assert stored.owner == first.owner_id
    finally:
        await first_db.dispose()
        if second_db is not None:
            await second_db.dispose()


async def test_the_calls_of_a_process_whose_heartbeat_is_stale_are_aborted(
    tmp_path: Path,
) -> None:
    url = await _url(tmp_path)
    first_db, first = await open_call_store(url)
    try:
        call = Call(caller_number="+15550100", started_at=datetime.now(UTC))
        await first.save_call(call)
        later_db, later = await open_call_store(url, stale_after_s=0)
        try:
            stored = await later.get(call.id)
        finally:
            await later_db.dispose()
    finally:
        await first_db.dispose()
    assert stored is not None
    assert stored.status is CallStatus.ABORTED


async def test_calls_left_active_by_a_process_that_closed_the_store_are_aborted(
    tmp_path: Path,
) -> None:
    url = await _url(tmp_path)
    first_db, first = await open_call_store(url)
    call = Call(caller_number="+15550100", started_at=datetime.now(UTC))
    await first.save_call(call)
    await first_db.dispose()
    later_db, later = await open_call_store(url)
    try:
        stored = await later.get(call.id)
    finally:
        await later_db.dispose()
    assert stored is not None
    assert stored.status is CallStatus.ABORTED
