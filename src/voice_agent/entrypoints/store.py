"""Opening the call store at start-up: schema check, crash recovery."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import threading
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.ports.repository import CallPage, CallRepository
from voice_agent.domain.call import Call, CallStatus
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.turn import Turn

log = logging.getLogger(__name__)

T = TypeVar("T")


async def open_call_store(
    url: str, *, migrate: bool = False
) -> tuple[Database, SqlAlchemyCallRepository]:
    """Connect, refuse a schema that is behind (unless `migrate`), and mark calls that a
    dead process left active as aborted. Run before taking any call."""
    database = Database(url)
    try:
        if migrate:
            await database.migrate()
        await database.check_schema()
        repository = SqlAlchemyCallRepository(database)
        aborted = await repository.abort_active(datetime.now(UTC))
    except BaseException:
        await database.dispose()
        raise
    if aborted:
        log.warning("marked %d call(s) left active by a dead process as aborted", aborted)
    return database, repository


@contextlib.contextmanager
def call_store_on_own_loop(url: str) -> Iterator[CallRepository]:
    """The call store (opened as by `open_call_store`) running on its own event loop in a
    background thread, on the wall clock, for a call that runs on a fast-forwarded loop
    (looptime): there, a driver's own timers (asyncpg's connect and command timeouts) would
    expire at once while the database server is still answering."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="call-store", daemon=True)
    thread.start()
    try:
        database, repository = asyncio.run_coroutine_threadsafe(open_call_store(url), loop).result()
        try:
            yield ForwardingCallRepository(repository, loop)
        finally:
            asyncio.run_coroutine_threadsafe(database.dispose(), loop).result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class ForwardingCallRepository:
    """A `CallRepository` that runs each operation on another thread's event loop. Arguments
    are copied first, so the caller's loop can go on changing its objects meanwhile."""

    def __init__(self, inner: CallRepository, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop

    async def _on_loop(self, operation: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(operation, self._loop))

    async def save_call(self, call: Call) -> None:
        await self._on_loop(self._inner.save_call(copy.deepcopy(call)))

    async def save_turn(self, call_id: str, turn: Turn) -> None:
        await self._on_loop(self._inner.save_turn(call_id, copy.deepcopy(turn)))

    async def record_event(self, event: DomainEvent) -> None:
        await self._on_loop(self._inner.record_event(copy.deepcopy(event)))

    async def events(self, call_id: str) -> list[DomainEvent]:
        return await self._on_loop(self._inner.events(call_id))

    async def get(self, call_id: str) -> Call | None:
        return await self._on_loop(self._inner.get(call_id))

    async def list(
        self,
        *,
        status: CallStatus | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> CallPage:
        return await self._on_loop(
            self._inner.list(
                status=status,
                started_after=started_after,
                started_before=started_before,
                limit=limit,
                offset=offset,
            )
        )

    async def abort_active(self, at: datetime) -> int:
        return await self._on_loop(self._inner.abort_active(at))
