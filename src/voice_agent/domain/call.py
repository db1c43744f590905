"""The call aggregate: one phone call from answer to hang-up, with its turns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from voice_agent.domain.errors import IllegalTransition
from voice_agent.domain.turn import Turn
from voice_agent.domain.usage import ProviderUsage


@dataclass(frozen=True, slots=True)
class CallOwner:
    """A process that runs calls, as the store knows it: alive while its heartbeat is
    recent (and, on the same host, while its pid runs)."""

    id: str
    host: str
    pid: int
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class AnswerTime:
    """How fast a call was answered, in milliseconds from the moment its line was offered
    (LiveKit: the job assigned to this worker; the web phone: the client's `start`)."""

    joined_ms: float
    """Until the agent was on the line (LiveKit: room joined and the caller's audio there;
    the web phone: at once)."""
    first_audio_ms: float | None = None
    """Until the agent's first audible audio was handed to the line (what the caller hears
    first); None while (or if) the agent has not spoken."""


class CallStatus(Enum):
    """Where a call is in its life."""

    ACTIVE = "active"
    """Answered and in progress."""
    COMPLETED = "completed"
    """Ended normally (either side hung up, a tool ended it, a timeout fired, transferred)."""
    FAILED = "failed"
    """Ended because the agent could not continue."""
    ABORTED = "aborted"
    """Left active by a process that died; found and closed at the next start."""


class EndReason(Enum):
    """Why a call ended."""

    CALLER_HUNG_UP = "caller_hung_up"
    AGENT_ENDED = "agent_ended"
    """The model called the `end_call` tool."""
    GOODBYE = "goodbye"
    """The caller said goodbye and the agent answered."""
    SILENCE_TIMEOUT = "silence_timeout"
    MAX_DURATION = "max_duration"
    TRANSFERRED = "transferred"
    ERROR = "error"
    """A provider failed beyond recovery (the caller heard an apology)."""
    INTERNAL_ERROR = "internal_error"
    """An unexpected error in the agent itself ended the call."""
    CANCELLED = "cancelled"
    """The call's task was cancelled before the call could end normally."""
    SERVER_SHUTDOWN = "server_shutdown"
    """The server was stopped (SIGTERM) during the call."""
    CLIENT_LIMIT = "client_limit"
    """The caller's client broke one of the line's limits (audio faster than real time, too
    many refused messages, stopped reading what the agent said) and was cut off."""
    PROCESS_DIED = "process_died"


@dataclass(slots=True)
class Call:
    """A phone call. `caller_number` is stored as received; logs mask it."""

    caller_number: str | None
    started_at: datetime
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: CallStatus = CallStatus.ACTIVE
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    turns: list[Turn] = field(default_factory=list)
    usage: tuple[ProviderUsage, ...] = ()
    """Provider usage (tokens, audio seconds, characters), set when the call ends."""
    cost_usd: float | None = None
    """Estimated provider cost from the configured prices; None when not metered."""
    answer: AnswerTime | None = None
    """How fast the call was answered; None for calls stored before it was measured."""
    owner: str | None = None
    """The process running the call (see `CallOwner`); set by the repository it is saved
    with. Crash recovery closes only calls whose owner is gone."""

    def end(self, reason: EndReason, at: datetime, *, failed: bool = False) -> None:
        if self.status is not CallStatus.ACTIVE:
            raise IllegalTransition(f"call {self.id} already ended ({self.status.value})")
        self.status = CallStatus.FAILED if failed else CallStatus.COMPLETED
        self.end_reason = reason
        self.ended_at = at

    def abort(self, at: datetime) -> None:
        """Close a call that a dead process left active."""
        if self.status is not CallStatus.ACTIVE:
            raise IllegalTransition(f"call {self.id} already ended ({self.status.value})")
        self.status = CallStatus.ABORTED
        self.end_reason = EndReason.PROCESS_DIED
        self.ended_at = at

    @property
    def is_active(self) -> bool:
        return self.status is CallStatus.ACTIVE

    def next_turn_index(self) -> int:
        return len(self.turns)
