"""The combined end-of-turn detector: the text rules and an audio model, each where it is strong.

The recognizer's punctuation is the strongest evidence there is, and the text rules know the
dictation, trailing-conjunction and open-clause cases the audio model cannot (it hears no
words): their "unfinished" always stands, and so does a "finished" the recognizer closed
with `.`, `?` or `!`. Only an unpunctuated turn the words cannot settle (streaming
recognizers, Whisper on a cut) goes to the model, whose ear for intonation decides; the
model runs for those turns only, so most decisions take microseconds.
"""

from __future__ import annotations

from voice_agent.application.ports.turn_end import TurnEndDetector, TurnEndVerdict
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.turn_end import ends_sentence, looks_unfinished


class CombinedTurnEndDetector:
    name = "combined"

    def __init__(self, model: TurnEndDetector, *, threshold: float = 0.05) -> None:
        """`threshold`: the model's probability of "complete" above which an unpunctuated
        turn is over.

        Chosen on the dev part of `bench/data/turns.tsv` (Piper voices on a phone band): the
        model rates nearly every fragment Piper voices as complete (Piper ends each text on a
        falling tone), so only its low scores carry information; 0.05 is the highest
        threshold that costs no false wait there. Overruling a punctuated "finished" when
        the model scores it low never saved a cut-off on dev and cost false waits ("Um,
        okay." scores 0.04), so punctuated turns never wait for the model."""
        self._model = model
        self._threshold = threshold

    @property
    def model(self) -> TurnEndDetector:
        """The audio detector it consults."""
        return self._model

    @property
    def needs_audio(self) -> bool:
        return True

    @property
    def trailing_silence_s(self) -> float:
        """The model's: the threshold was chosen on turns ending in that much silence."""
        return self._model.trailing_silence_s

    async def assess(self, text: str, audio: AudioChunk | None) -> TurnEndVerdict:
        """Without audio (not kept by the engine) the text rules decide alone."""
        if looks_unfinished(text):
            return TurnEndVerdict(False, 0.1, self.name)
        if audio is None or ends_sentence(text):
            return TurnEndVerdict(True, 0.9, self.name)
        probability = (await self._model.assess(text, audio)).confidence
        return TurnEndVerdict(probability > self._threshold, probability, self.name)
