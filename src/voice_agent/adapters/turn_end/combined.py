"""The combined end-of-turn detector: the text rules and an audio model, each where it is strong.

The recognizer's punctuation is the strongest evidence there is, and the text rules know the
dictation and trailing-conjunction cases the audio model cannot (it hears no words): their
"unfinished" always stands, and so does a "finished" closed by `.`, `?` or `!` unless the
model is very sure the caller is mid-thought. Without closing punctuation (streaming
recognizers) the words are weak evidence, and the model's ear for intonation decides.
"""

from __future__ import annotations

from voice_agent.application.ports.turn_end import TurnEndDetector, TurnEndVerdict
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.turn_end import ends_sentence, looks_unfinished


class CombinedTurnEndDetector:
    name = "combined"

    def __init__(
        self, model: TurnEndDetector, *, overrule_below: float = 0.02, threshold: float = 0.1
    ) -> None:
        """`overrule_below`: the model's probability of "complete" under which it overrules
        a punctuated finished sentence; `threshold`: above it, an unpunctuated turn is over.

        Chosen on the dev part of `bench/data/turns.tsv` (Piper voices on a phone band): the
        model rates nearly every fragment Piper voices as complete (Piper ends each text on a
        falling tone), so only its low scores carry information."""
        self._model = model
        self._overrule_below = overrule_below
        self._threshold = threshold

    @property
    def model(self) -> TurnEndDetector:
        """The audio detector it consults."""
        return self._model

    @property
    def needs_audio(self) -> bool:
        return True

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        """Without audio (not kept by the engine) the text rules decide alone."""
        if looks_unfinished(text):
            return TurnEndVerdict(False, 0.1, self.name)
        if audio is None:
            return TurnEndVerdict(True, 0.9, self.name)
        probability = (await self._model.assess(text, audio)).confidence
        if ends_sentence(text):
            return TurnEndVerdict(probability >= self._overrule_below, probability, self.name)
        return TurnEndVerdict(probability > self._threshold, probability, self.name)
