"""Opening the call store at start-up: schema check, call ownership, crash recovery.

Each process that opens the store registers itself as a `CallOwner` (host, pid, heartbeat)
and stamps the calls it saves with its id. It refreshes its heartbeat every
`HEARTBEAT_S` while the store is open, and forgets itself when the store is closed. At
start-up, active calls are marked `aborted` only when their owner is gone: no owner row
(stopped, or a version before ownership), a heartbeat older than `STALE_AFTER_S`, or a
predecessor on this host whose pid no longer runs (a crash just before a restart). A second
process opening the same store therefore leaves a live process's calls alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import os
import socket
import threading
import uuid
from collections.abc import Collection, Coroutine, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from voice_agent.adapters.resilience import BackoffRetry
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.ports.repository import CallPage, CallRepository, RoomEventPage
from voice_agent.application.resilience.retry import RetryPolicy
from voice_agent.domain.call import Call, CallOwner, CallStatus
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.room_events import RoomEvent
from voice_agent.domain.turn import Turn

log = logging.getLogger(__name__)

T = TypeVar("T")

HEARTBEAT_S = 10.0
STALE_AFTER_S = 3 * HEARTBEAT_S
"""A heartbeat this old means its process is gone (three missed beats)."""


def storage_retry() -> RetryPolicy:
    """How a call's writes are retried: four attempts, 0.2 s to 2 s apart, enough to ride
    out a locked SQLite file or a database fail-over of a few seconds."""
    return BackoffRetry(max_attempts=4, initial_s=0.2, max_s=2.0, jitter_s=0.1)


def this_process(at: datetime) -> CallOwner:
    return CallOwner(
        id=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), heartbeat_at=at
    )


def pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, as another user
    return True


def live_owners(owners: Iterable[CallOwner], me: CallOwner, *, stale_after_s: float) -> set[str]:
    """The owners still alive, as far as this process can tell."""
    fresh_since = me.heartbeat_at - timedelta(seconds=stale_after_s)
    return {
        owner.id
        for owner in owners
        if owner.heartbeat_at >= fresh_since
        and not (owner.host == me.host and owner.id != me.id and not pid_runs(owner.pid))
    }


async def open_call_store(
    url: str,
    *,
    migrate: bool = False,
    heartbeat_s: float = HEARTBEAT_S,
    stale_after_s: float = STALE_AFTER_S,
) -> tuple[Database, SqlAlchemyCallRepository]:
    """Connect, refuse a schema that is behind (unless `migrate`), register this process as
    an owner of calls (with a heartbeat until `database.dispose()`), and mark the calls of
    owners that are gone as aborted. Run before taking any call."""
    database = Database(url)
    try:
        if migrate:
            await database.migrate()
        await database.check_schema()
        me = this_process(datetime.now(UTC))
        repository = SqlAlchemyCallRepository(database, owner_id=me.id)
        await repository.register_owner(me)
        alive = live_owners(await repository.owners(), me, stale_after_s=stale_after_s)
        aborted = await repository.abort_active(me.heartbeat_at, keep_owners=alive)
    except BaseException:
        await database.dispose()
        raise
    if aborted:
        log.warning("marked %d call(s) left active by a dead process as aborted", aborted)
    beating = asyncio.create_task(_beat(repository, me, heartbeat_s), name="store-heartbeat")

    async def stop_beating() -> None:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        with contextlib.suppress(Exception):
            await repository.release_owner(me.id)

    database.before_dispose(stop_beating)
    return database, repository


async def _beat(repository: SqlAlchemyCallRepository, me: CallOwner, every_s: float) -> None:
    """Refresh this process's heartbeat (re-registering it, should another process have
    wrongly given it up for dead)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await repository.register_owner(dataclasses.replace(me, heartbeat_at=datetime.now(UTC)))
        except Exception as error:
            log.warning("could not refresh this process's heartbeat in the store: %s", error)


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

    async def abort_active(self, at: datetime, *, keep_owners: Collection[str] = ()) -> int:
        return await self._on_loop(self._inner.abort_active(at, keep_owners=keep_owners))

    async def register_owner(self, owner: CallOwner) -> None:
        await self._on_loop(self._inner.register_owner(owner))

    async def owners(self) -> tuple[CallOwner, ...]:
        return await self._on_loop(self._inner.owners())

    async def release_owner(self, owner_id: str) -> None:
        await self._on_loop(self._inner.release_owner(owner_id))

    async def record_room_event(self, event: RoomEvent) -> bool:
        return await self._on_loop(self._inner.record_room_event(event))

    async def room_events(
        self, *, room: str | None = None, limit: int = 100, offset: int = 0
    ) -> RoomEventPage:
        return await self._on_loop(self._inner.room_events(room=room, limit=limit, offset=offset))
