"""Turn-taking rules: when the caller's turn is over, and when caller sound during agent
speech is a real interruption. Pure decisions, no I/O, so they are easy to test and tune."""

from __future__ import annotations

from dataclasses import dataclass

from voice_agent.domain.language import is_backchannel, words
from voice_agent.domain.turn_end import looks_unfinished


@dataclass(frozen=True, slots=True)
class EndOfTurnPolicy:
    """How long to wait after the caller falls silent before answering.

    The wait is counted from the moment speech ended (not from when a detector noticed), so
    it is the real gap the caller experiences. A finished-sounding turn waits `min_delay_s`;
    one that reads unfinished ("...and", "my number is") waits `max_delay_s`, giving the
    caller time to go on. Who judges is the session's `TurnEndDetector`. The final
    transcript must also be in before the turn is taken.
    """

    min_delay_s: float = 0.35
    max_delay_s: float = 2.0

    def delay(self, *, finished: bool) -> float:
        """The wait for a turn the end-of-turn detector judged finished, or not."""
        return self.min_delay_s if finished else self.max_delay_s

    def delay_for(self, text: str) -> float:
        """The wait by the text rules alone."""
        return self.delay(finished=not looks_unfinished(text))


@dataclass(frozen=True, slots=True)
class InterruptionPolicy:
    """When caller sound during agent speech is a barge-in.

    The rule: an interruption needs words. It is confirmed as soon as the transcript of the
    overlapping speech holds `min_words` words that are not backchannels ("mm-hm", "yeah",
    "okay"), or when voice has gone on for `max_unconfirmed_speech_s` without any transcript
    at all (the recognizer is lagging; nobody coughs for two seconds). A cough or "mm-hm"
    never stops the agent, so there is nothing to resume afterwards.
    """

    min_words: int = 1
    max_unconfirmed_speech_s: float = 2.0
    preface_words: int = 2
    """A barge-in of at most this many words is taken as a preface ("Sorry,", "Wait,",
    "Excuse me,"): the caller has taken the floor and usually goes on after a breath, so
    the turn waits the long end-of-turn delay until more words come. Answered at the short
    delay, "Sorry" (then a 0.3 s comma pause) got an answer the rest of the sentence cut
    off. 0: every barge-in is judged like any turn."""

    def confirmed_by_words(self, transcript: str) -> bool:
        if is_backchannel(transcript):
            return False
        return len(words(transcript)) >= self.min_words

    def is_preface(self, transcript: str) -> bool:
        """The words of a barge-in so far are only its preface (see `preface_words`)."""
        return len(words(transcript)) <= self.preface_words

    def confirmed_by_duration(self, voiced_s: float, transcript: str) -> bool:
        return voiced_s >= self.max_unconfirmed_speech_s and not transcript.strip()
