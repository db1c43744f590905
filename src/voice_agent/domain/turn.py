"""A turn: one side's contribution to the conversation, with what the caller actually heard."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class Role(Enum):
    """Who spoke a turn."""

    CALLER = "caller"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class LatencyBreakdown:
    """Where the time went between the caller falling silent and the agent's first sound.

    All values are milliseconds; None means the stage did not happen (a canned prompt has no
    LLM stage, a greeting has no end of utterance).
    """

    eou_ms: float | None = None
    """Caller stopped speaking -> the engine decided the turn was over."""
    stt_ms: float | None = None
    """Caller stopped speaking -> final transcript received."""
    llm_ttft_ms: float | None = None
    """Request sent to the language model -> first text token."""
    tts_ttfb_ms: float | None = None
    """First text sent to speech synthesis -> first audio byte."""
    e2e_ms: float | None = None
    """Voice to voice: caller stopped speaking -> first agent audio handed to the caller."""

    def as_dict(self) -> dict[str, float | None]:
        return {
            "eou": self.eou_ms,
            "stt": self.stt_ms,
            "llm_ttft": self.llm_ttft_ms,
            "tts_ttfb": self.tts_ttfb_ms,
            "e2e": self.e2e_ms,
        }


@dataclass(slots=True)
class Turn:
    """One turn. For the agent, `text` is what it meant to say and `heard_text` what reached
    the caller before an interruption or hang-up cut it off; for the caller both are the
    transcript."""

    role: Role
    text: str
    index: int
    started_at: datetime
    ended_at: datetime | None = None
    heard_text: str | None = None
    interrupted: bool = False
    latency: LatencyBreakdown = field(default_factory=LatencyBreakdown)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.heard_text is None:
            self.heard_text = self.text

    @property
    def spoken_text(self) -> str:
        """What the conversation really contains: the heard part for a cut-off agent turn."""
        return self.heard_text if self.heard_text is not None else self.text
