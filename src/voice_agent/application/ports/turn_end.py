"""End-of-turn detection: has the caller finished speaking, or paused mid-thought?

The engine asks once the caller falls silent (and again when a newer transcript arrives),
then waits the short or the long end-of-turn delay accordingly. Implementations: rules on
the recognizer's punctuated text, an audio model on the caller's last seconds of speech,
or a combination of both; which one runs is the composition root's choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voice_agent.domain.audio import AudioChunk


@dataclass(frozen=True, slots=True)
class TurnEndVerdict:
    finished: bool
    """True when the caller most likely finished their turn (answer after the short delay)."""
    confidence: float
    """How sure the detector is that the turn is finished, 0.0-1.0 (0.5 = no idea)."""
    detector: str
    """Which detector decided (stored with the turn's latency breakdown, shown in benches)."""


class TurnEndDetector(Protocol):
    @property
    def needs_audio(self) -> bool:
        """Whether `assess` uses `audio` (so the engine keeps the caller's last seconds)."""
        ...

    @property
    def trailing_silence_s(self) -> float:
        """The caller's silence after the voice that `audio` must hold: the engine asks no
        sooner (0.0 when the detector needs no audio). An audio model judges the pause
        itself, and is tuned on pauses of one length; the voice detector may report the end
        of the voice sooner, to start the reply early."""
        ...

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        """Judge the caller's turn so far: `text` as the recognizer punctuated it, `audio`
        the caller's last seconds of speech (up to 8 s, 16 kHz mono, ending where the voice
        stopped) or None when not kept. Must answer within tens of milliseconds; a
        detector that fails raises, and the engine falls back to the text rules."""
        ...
