"""Everything that can happen to a call, as inputs on the session's queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from voice_agent.application.ports.stt import SttEvent
from voice_agent.domain.call import EndReason

if TYPE_CHECKING:
    from voice_agent.application.session.reply import AgentReply


@dataclass(frozen=True, slots=True)
class VoiceStartedAt:
    at: float


@dataclass(frozen=True, slots=True)
class VoiceEndedAt:
    speech_end_at: float
    """Loop time the voice actually stopped (the detector noticed later)."""


@dataclass(frozen=True, slots=True)
class SttInput:
    event: SttEvent
    at: float


@dataclass(frozen=True, slots=True)
class SttFailed:
    error: Exception


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    pass


@dataclass(frozen=True, slots=True)
class EndRequested:
    """Someone outside the call ends it now (e.g. the server is shutting down)."""

    reason: EndReason


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class ReplyAudioStarted:
    reply: AgentReply


@dataclass(frozen=True, slots=True)
class ReplyFinished:
    reply: AgentReply
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class TimerFired:
    name: str
    generation: int


@dataclass(frozen=True, slots=True)
class TurnJudged:
    """The end-of-turn detector's verdict on the caller's `text`."""

    text: str
    finished: bool


Input = (
    VoiceStartedAt
    | VoiceEndedAt
    | SttInput
    | SttFailed
    | CallerHungUp
    | EndRequested
    | Dtmf
    | ReplyAudioStarted
    | ReplyFinished
    | TurnJudged
    | TimerFired
)
