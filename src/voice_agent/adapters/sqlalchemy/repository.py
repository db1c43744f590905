"""`CallRepository` on SQL. Every method is one short transaction, so each turn is on disk
(committed) when `save_turn` returns. A write that fails is rolled back with its own
session, so it never leaves anything behind for the next write; it raises
`ProviderUnavailable("database")` when trying again may work (locked, unreachable) and
`ProviderError` (not retryable) otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from voice_agent.adapters.sqlalchemy.database import Database
from voice_agent.adapters.sqlalchemy.mapping import (
    call_to_row,
    event_to_row,
    owner_from_row,
    room_event_values,
    row_to_call,
    row_to_event,
    row_to_room_event,
    row_to_turn,
    turn_to_row,
)
from voice_agent.adapters.sqlalchemy.tables import (
    CallEventRow,
    CallOwnerRow,
    CallRow,
    LiveKitEventRow,
    TurnRow,
)
from voice_agent.application.ports.errors import ProviderError, ProviderUnavailable
from voice_agent.application.ports.repository import CallPage, RoomEventPage
from voice_agent.domain.call import Call, CallOwner, CallStatus, EndReason
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.room_events import RoomEvent
from voice_agent.domain.turn import Turn

DATABASE = "database"


def _insert_room_event_once(dialect: str, event: RoomEvent) -> Executable:
    """An insert of `event` that skips it when its event id is stored already (on the two
    supported databases, each with its own spelling of `ON CONFLICT DO NOTHING`)."""
    key = [LiveKitEventRow.event_id]
    values = room_event_values(event)
    if dialect == "postgresql":
        return (
            postgresql.insert(LiveKitEventRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=key)
        )
    return sqlite.insert(LiveKitEventRow).values(values).on_conflict_do_nothing(index_elements=key)


def _brief(error: DBAPIError) -> str:
    """The driver's message without the statement and its parameters (caller data)."""
    return f"{type(error.orig).__name__}: {error.orig}"[:200]


class SqlAlchemyCallRepository:
    """`owner_id`: stamped on calls saved without an owner (this process, see `Call.owner`)."""

    def __init__(self, database: Database, owner_id: str | None = None) -> None:
        self._db = database
        self.owner_id = owner_id

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """One transaction, committed on success and rolled back on any failure."""
        try:
            async with self._db.sessions.begin() as session:
                yield session
        except (OperationalError, InterfaceError) as error:
            raise ProviderUnavailable(DATABASE, _brief(error)) from error
        except DBAPIError as error:
            raise ProviderError(DATABASE, _brief(error), retryable=False) from error

    async def save_call(self, call: Call) -> None:
        async with self._write() as session:
            row = await session.get(CallRow, call.id)
            owner = call.owner or (row.owner_id if row is not None else self.owner_id)
            session.add(call_to_row(call, row, owner=owner))

    async def save_turn(self, call_id: str, turn: Turn) -> None:
        async with self._write() as session:
            if await session.get(CallRow, call_id) is None:
                raise KeyError(f"no call {call_id!r} to add a turn to")
            row = await session.get(TurnRow, turn.id)
            session.add(turn_to_row(call_id, turn, row))

    async def record_event(self, event: DomainEvent) -> None:
        async with self._write() as session:
            if await session.get(CallRow, event.call_id) is None:
                raise KeyError(f"no call {event.call_id!r} to add an event to")
            session.add(event_to_row(event))

    async def events(self, call_id: str) -> list[DomainEvent]:
        async with self._db.sessions() as session:
            rows = await session.scalars(
                select(CallEventRow)
                .where(CallEventRow.call_id == call_id)
                .order_by(CallEventRow.at, CallEventRow.id)
            )
            return [row_to_event(row) for row in rows]

    async def get(self, call_id: str) -> Call | None:
        async with self._db.sessions() as session:
            row = await session.get(CallRow, call_id)
            if row is None:
                return None
            call = row_to_call(row)
            turns = await session.scalars(
                select(TurnRow).where(TurnRow.call_id == call_id).order_by(TurnRow.turn_index)
            )
            call.turns = [row_to_turn(t) for t in turns]
            return call

    async def list(
        self,
        *,
        status: CallStatus | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> CallPage:
        conditions = []
        if status is not None:
            conditions.append(CallRow.status == status.value)
        if started_after is not None:
            conditions.append(CallRow.started_at >= started_after)
        if started_before is not None:
            conditions.append(CallRow.started_at < started_before)
        async with self._db.sessions() as session:
            total = await session.scalar(
                select(func.count()).select_from(CallRow).where(*conditions)
            )
            rows = await session.scalars(
                select(CallRow)
                .where(*conditions)
                .order_by(CallRow.started_at.desc(), CallRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return CallPage(calls=[row_to_call(r) for r in rows], total=total or 0)

    async def abort_active(self, at: datetime, *, keep_owners: Collection[str] = ()) -> int:
        keep = list(keep_owners)
        orphaned = CallRow.owner_id.is_(None) | CallRow.owner_id.not_in(keep)
        async with self._write() as session:
            result = await session.execute(
                update(CallRow)
                .where(CallRow.status == CallStatus.ACTIVE.value, orphaned)
                .values(
                    status=CallStatus.ABORTED.value,
                    end_reason=EndReason.PROCESS_DIED.value,
                    ended_at=at,
                )
            )
            await session.execute(delete(CallOwnerRow).where(CallOwnerRow.id.not_in(keep)))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def register_owner(self, owner: CallOwner) -> None:
        async with self._write() as session:
            row = await session.get(CallOwnerRow, owner.id) or CallOwnerRow(id=owner.id)
            row.host, row.pid, row.heartbeat_at = owner.host, owner.pid, owner.heartbeat_at
            session.add(row)

    async def owners(self) -> tuple[CallOwner, ...]:
        async with self._db.sessions() as session:
            rows = await session.scalars(select(CallOwnerRow).order_by(CallOwnerRow.id))
            return tuple(owner_from_row(row) for row in rows)

    async def release_owner(self, owner_id: str) -> None:
        async with self._write() as session:
            await session.execute(delete(CallOwnerRow).where(CallOwnerRow.id == owner_id))

    async def record_room_event(self, event: RoomEvent) -> bool:
        # One statement that skips an existing event id: two deliveries of the same event
        # arriving at once store it once, with no unique-key error for the second.
        statement = _insert_room_event_once(self._db.engine.dialect.name, event)
        async with self._write() as session:
            result = await session.execute(statement)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def room_events(
        self, *, room: str | None = None, limit: int = 100, offset: int = 0
    ) -> RoomEventPage:
        conditions = [] if room is None else [LiveKitEventRow.room_name == room]
        async with self._db.sessions() as session:
            total = await session.scalar(
                select(func.count()).select_from(LiveKitEventRow).where(*conditions)
            )
            rows = await session.scalars(
                select(LiveKitEventRow)
                .where(*conditions)
                .order_by(LiveKitEventRow.created_at, LiveKitEventRow.seq)
                .limit(limit)
                .offset(offset)
            )
            return RoomEventPage(events=[row_to_room_event(r) for r in rows], total=total or 0)
