"""Where calls and their turns are stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from voice_agent.domain.call import Call, CallStatus
from voice_agent.domain.events import DomainEvent
from voice_agent.domain.turn import Turn


@dataclass(frozen=True, slots=True)
class CallPage:
    calls: list[Call]
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

    async def abort_active(self, at: datetime) -> int:
        """Mark every call still ACTIVE as ABORTED (run at start-up, before any call is
        taken); returns how many."""
        ...
