"""An in-memory call repository that behaves like the database one (copies in, copies out)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Collection
from datetime import datetime

from voice_agent.application.ports.repository import CallPage, RoomEventPage
from voice_agent.domain.call import Call, CallOwner, CallStatus
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.moments import as_utc
from voice_agent.domain.room_events import RoomEvent
from voice_agent.domain.turn import Turn


class InMemoryCallRepository:
    """Stores deep copies, so callers cannot change stored data by mutating their objects."""

    def __init__(self, owner_id: str | None = None) -> None:
        self.owner_id = owner_id
        """Stamped on calls saved without an owner (see `Call.owner`)."""
        self._owners: dict[str, CallOwner] = {}
        self._calls: dict[str, Call] = {}
        self._turns: dict[str, dict[str, Turn]] = {}
        self._events: dict[str, list[DomainEvent]] = {}
        self._room_events: dict[str, RoomEvent] = {}
        """By event id, in arrival order."""

    async def save_call(self, call: Call) -> None:
        stored = copy.deepcopy(call)
        stored.turns = []
        if stored.owner is None:
            previous = self._calls.get(call.id)
            stored.owner = previous.owner if previous is not None else self.owner_id
        self._calls[call.id] = stored
        self._turns.setdefault(call.id, {})

    async def save_turn(self, call_id: str, turn: Turn) -> None:
        if call_id not in self._calls:
            raise KeyError(f"no call {call_id!r} to add a turn to")
        self._turns[call_id][turn.id] = copy.deepcopy(turn)

    async def record_event(self, event: DomainEvent) -> None:
        if event.call_id not in self._calls:
            raise KeyError(f"no call {event.call_id!r} to add an event to")
        self._events.setdefault(event.call_id, []).append(event)

    async def events(self, call_id: str) -> list[DomainEvent]:
        return list(self._events.get(call_id, []))

    async def get(self, call_id: str) -> Call | None:
        stored = self._calls.get(call_id)
        if stored is None:
            return None
        call = copy.deepcopy(stored)
        call.turns = sorted(
            (copy.deepcopy(t) for t in self._turns[call_id].values()), key=lambda t: t.index
        )
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
        after = as_utc(started_after) if started_after is not None else None
        before = as_utc(started_before) if started_before is not None else None
        matching = [
            c
            for c in self._calls.values()
            if (status is None or c.status is status)
            and (after is None or as_utc(c.started_at) >= after)
            and (before is None or as_utc(c.started_at) < before)
        ]
        matching.sort(key=lambda c: (c.started_at, c.id), reverse=True)
        page = [copy.deepcopy(c) for c in matching[offset : offset + limit]]
        return CallPage(calls=page, total=len(matching))

    async def abort_active(self, at: datetime, *, keep_owners: Collection[str] = ()) -> int:
        active = [c for c in self._calls.values() if c.is_active and c.owner not in keep_owners]
        for call in active:
            call.abort(at)
        self._owners = {k: v for k, v in self._owners.items() if k in keep_owners}
        return len(active)

    async def register_owner(self, owner: CallOwner) -> None:
        self._owners[owner.id] = owner

    async def owners(self) -> tuple[CallOwner, ...]:
        return tuple(sorted(self._owners.values(), key=lambda o: o.id))

    async def release_owner(self, owner_id: str) -> None:
        self._owners.pop(owner_id, None)

    async def record_room_event(self, event: RoomEvent) -> bool:
        if event.id in self._room_events:
            return False
        self._room_events[event.id] = dataclasses.replace(
            event, created_at=as_utc(event.created_at)
        )
        return True

    async def room_events(
        self, *, room: str | None = None, limit: int = 100, offset: int = 0
    ) -> RoomEventPage:
        matching = [e for e in self._room_events.values() if room is None or e.room_name == room]
        matching.sort(key=lambda e: as_utc(e.created_at))  # stable: arrival order for ties
        return RoomEventPage(events=matching[offset : offset + limit], total=len(matching))
