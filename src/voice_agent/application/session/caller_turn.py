"""What the caller has said in the turn being built, and caller speech that overlaps the
agent (a possible barge-in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from voice_agent.domain.turn import Turn


@dataclass(slots=True)
class CallerSpeech:
    """Transcript pieces of one stretch of caller speech."""

    finals: list[str] = field(default_factory=list)
    interim: str = ""
    interim_pending: bool = False
    """An interim result came after the last final: the final text is not in yet."""
    interim_at_pause: bool = False
    """That interim is the recognizer's whole transcript at a pause (`InterimTranscript.
    at_pause`): the final will say the same if the caller stays silent."""
    last_final_at: float | None = None
    ends_on_pause: bool = False
    """The last piece is a final the recognizer marked as followed by a pause."""

    @property
    def text(self) -> str:
        final = " ".join(t for t in self.finals if t.strip())
        if self.interim_pending and self.interim.strip():
            return f"{final} {self.interim}".strip()
        return final

    def add_interim(self, text: str, *, at_pause: bool = False) -> None:
        self.interim = text
        self.interim_pending = bool(text.strip())
        self.interim_at_pause = at_pause and self.interim_pending
        self.ends_on_pause = self.ends_on_pause and not self.interim_pending

    def add_final(self, text: str, at: float, *, speech_final: bool = False) -> None:
        self.ends_on_pause = speech_final
        self.finals.append(text)
        self.interim = ""
        self.interim_pending = False
        self.interim_at_pause = False
        self.last_final_at = at


@dataclass(slots=True)
class CallerTurn:
    """The caller's turn in progress."""

    speech: CallerSpeech = field(default_factory=CallerSpeech)
    started_at: datetime | None = None
    speech_end_at: float | None = None
    """Loop time the caller last fell silent; None while speaking or before any speech."""
    continues: Turn | None = None
    """A turn already taken whose reply the caller cut off before hearing anything: this
    speech is the rest of that turn, not a new one."""
    barged_in: bool = False
    """The turn began by interrupting the agent (see `InterruptionPolicy.preface_words`)."""

    @property
    def has_words(self) -> bool:
        return bool(self.speech.text.strip())


@dataclass(slots=True)
class Overlap:
    """Caller sound that began while the agent held the floor."""

    started_at: float
    started_wall: datetime
    speech: CallerSpeech = field(default_factory=CallerSpeech)
    voice_ended_at: float | None = None
