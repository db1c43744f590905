"""The text end-of-turn detector: the domain's rules on the recognizer's punctuated words."""

from __future__ import annotations

from voice_agent.application.ports.turn_end import TurnEndVerdict
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.turn_end import looks_unfinished


class TextTurnEndDetector:
    """Judges from the words alone, in microseconds; never needs the caller's audio."""

    name = "text"

    @property
    def needs_audio(self) -> bool:
        return False

    @property
    def trailing_silence_s(self) -> float:
        return 0.0

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        finished = not looks_unfinished(text)
        return TurnEndVerdict(finished, 0.9 if finished else 0.1, self.name)
