"""Which part of an agent reply the caller actually heard before it was cut off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpokenSpan:
    """A piece of reply text and where its audio sits on the reply's playout timeline
    (seconds from the reply's first sample). A word timing is a span of one word; a TTS
    without timings gives one span per phrase."""

    text: str
    start: float
    end: float


def heard_text(spans: Sequence[SpokenSpan], played_seconds: float) -> str:
    """The text of everything played up to `played_seconds`.

    Spans played to their end are kept whole. For the span playing at the cut, words are kept
    in proportion to the time played, and a word counts as heard once half of its share of
    the span has played: a caller who heard "Tues-" of "Tuesday" heard the word.
    """
    heard: list[str] = []
    for span in sorted(spans, key=lambda s: s.start):
        if span.end <= played_seconds:
            heard.append(span.text.strip())
            continue
        if span.start >= played_seconds:
            break
        heard.append(_partial(span, played_seconds))
        break
    return " ".join(part for part in heard if part)


def _partial(span: SpokenSpan, played_seconds: float) -> str:
    words = span.text.split()
    if not words or span.end <= span.start:
        return ""
    fraction = (played_seconds - span.start) / (span.end - span.start)
    # Weight words by length so a long word takes longer to say than "a".
    weights = [len(w) + 1 for w in words]
    total = sum(weights)
    kept: list[str] = []
    elapsed = 0.0
    for word, weight in zip(words, weights, strict=True):
        midpoint = (elapsed + weight / 2) / total
        if midpoint > fraction:
            break
        kept.append(word)
        elapsed += weight
    return " ".join(kept)
