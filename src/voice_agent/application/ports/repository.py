"""Where calls and their turns are stored."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from voice_agent.domain.call import Call, CallOwner, CallStatus
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.room_events import RoomEvent
from voice_agent.domain.turn import Turn


@dataclass(frozen=True, slots=True)
class CallPage:
    calls: list[Call]
    total: int


@dataclass(frozen=True, slots=True)
class RoomEventPage:
    events: list[RoomEvent]
    total: int


class CallRepository(Protocol):
    """Turns are saved one by one as they complete so a crash loses only the turn in progress.
    Saves are upserts keyed by id: saving a turn again replaces it."""

    async def save_call(self, call: Call) -> None:
        """Insert or update the call row (not its turns)."""
        ...

    async def save_turn(self, call_id: str, turn: Turn) -> None: ...

    async def record_event(self, event: DomainEvent) -> None:
        """Append a call event (interruption, DTMF, tool call, provider failure...)."""
        ...

    async def events(self, call_id: str) -> list[DomainEvent]:
        """The call's recorded events, oldest first."""
        ...

    async def get(self, call_id: str) -> Call | None:
        """The call with its turns in order, or None."""
        ...

    async def list(
        self,
        *,
        status: CallStatus | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> CallPage:
        """Calls newest first, without their turns. `started_after` (inclusive) and
        `started_before` (exclusive) are instants: aware datetimes in any offset, naive ones
        taken as UTC (`domain.moments.as_utc`)."""
        ...

    async def abort_active(self, at: datetime, *, keep_owners: Collection[str] = ()) -> int:
        """Mark every call still ACTIVE as ABORTED, except those of the owners in
        `keep_owners` (processes still alive), and forget the other owners (run at
        start-up, before any call is taken); returns how many calls."""
        ...

    async def register_owner(self, owner: CallOwner) -> None:
        """Add a process that runs calls, or refresh its heartbeat (`owner.heartbeat_at`)."""
        ...

    async def owners(self) -> tuple[CallOwner, ...]:
        """Every registered owner, with its last heartbeat."""
        ...

    async def release_owner(self, owner_id: str) -> None:
        """The owner stopped cleanly: forget it (calls it left active are then aborted by
        the next start-up)."""
        ...

    async def record_room_event(self, event: RoomEvent) -> bool:
        """Store a room or participant event for audit, unless one with its id is stored
        already (the server retries deliveries): True when stored now, False for a
        duplicate (the stored one is kept as it was). Calls are never touched."""
        ...

    async def room_events(
        self, *, room: str | None = None, limit: int = 100, offset: int = 0
    ) -> RoomEventPage:
        """Room events in the order they happened (`created_at`, then arrival), all rooms
        or one (`room`: its exact name)."""
        ...
