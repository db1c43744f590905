"""Domain events: facts about a call that observers (metrics, logs, storage) react to."""

from __future__ import annotations

from dataclasses import dataclass

from voice_agent.domain.call import AnswerTime, CallStatus, EndReason
from voice_agent.domain.state import ConversationState
from voice_agent.domain.turn import Turn
from voice_agent.domain.usage import ProviderUsage


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Base class; `call_id` ties every event to its call, `at` is wall-clock epoch seconds."""

    call_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CallStarted(DomainEvent):
    caller_number: str | None


@dataclass(frozen=True, slots=True)
class CallEnded(DomainEvent):
    status: CallStatus
    reason: EndReason


@dataclass(frozen=True, slots=True)
class CallAnswered(DomainEvent):
    """The agent's first audible audio reached the line: the call's answer time."""

    answer: AnswerTime


@dataclass(frozen=True, slots=True)
class StateChanged(DomainEvent):
    previous: ConversationState
    current: ConversationState


@dataclass(frozen=True, slots=True)
class TurnCompleted(DomainEvent):
    turn: Turn


@dataclass(frozen=True, slots=True)
class CallerInterrupted(DomainEvent):
    """The caller barged in; the agent stopped after `heard_seconds` of its reply."""

    heard_seconds: float


@dataclass(frozen=True, slots=True)
class FalseInterruptionIgnored(DomainEvent):
    """Caller sound during agent speech that was not real speech (a cough, "mm-hm")."""

    transcript: str


@dataclass(frozen=True, slots=True)
class ProviderFailed(DomainEvent):
    """A provider failed during a turn; the caller heard an apology instead."""

    stage: str
    error: str
    provider: str = "unknown"
    """The failing provider's name, when the error carries one."""
    outcome: str | None = None
    """For a failed transfer (stage `transfer`): `busy`, `declined`, `no_answer` or
    `failed`, as the caller was told."""


@dataclass(frozen=True, slots=True)
class DtmfReceived(DomainEvent):
    digit: str


@dataclass(frozen=True, slots=True)
class ToolCalled(DomainEvent):
    name: str
    arguments: dict[str, object]


@dataclass(frozen=True, slots=True)
class AudioUnderrun(DomainEvent):
    """The playout queue ran dry in the middle of agent speech (dead air)."""


@dataclass(frozen=True, slots=True)
class StoreWriteFailed(DomainEvent):
    """Writing part of the call to the store failed (`operation`: save_call, save_turn or
    record_event); `gave_up` when no retry is left and that record is lost. Published to the
    sinks, never stored itself (the store is what failed)."""

    operation: str
    error: str
    gave_up: bool


@dataclass(frozen=True, slots=True)
class UsageRecorded(DomainEvent):
    """A call's provider usage and its estimated cost in USD (sent when the call ends)."""

    usage: tuple[ProviderUsage, ...]
    cost_usd: float
