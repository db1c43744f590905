"""Cuts a stream of LLM tokens into phrases worth sending to speech synthesis early."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof vs etc e.g i.e a.m p.m approx no inc ltd co".split()
)
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014]\s")
_BREAK_BEFORE = frozenset(
    "and but or so because if when while where which who that "
    "at on in for from with after before until by about than".split()
)
"""Words a speaker may pause before (conjunctions, relatives, prepositions): where a text-to-
speech system would place a phrase break. "of" and "to" are not among them: "a lot | of",
"happy | to help" sound broken."""
_WORD_AHEAD = re.compile(r"\s+([A-Za-z]+)(?=\s)")


@dataclass(frozen=True, slots=True)
class PhraseRules:
    min_sentence_chars: int = 8
    """A sentence shorter than this ("Hi.") waits to be joined with the next one."""
    min_clause_chars: int = 40
    """Cut at a comma or semicolon only when the clause before it is at least this long, so
    long sentences start playing early without chopping lists ("six, seven and eight")."""
    first_clause_chars: int | None = None
    """The same threshold for a reply's first phrase (None: `min_clause_chars`). Lower it
    when synthesis time grows with the phrase (a synthesizer that renders each phrase
    whole): the first audio comes sooner, at the price of a pause at that comma."""
    first_break_words: int | None = None
    """Also cut a reply's first phrase before a conjunction or preposition ("We are open |
    from nine to five") once this many words precede it (None: never). For a synthesizer
    that renders each phrase whole and a model that writes ~25 ms per token: the caller
    hears the opening words while the rest is written, and the cut falls where a speaker
    may pause."""


class PhraseAggregator:
    """Feed text deltas with `push`; it returns each complete phrase as soon as one exists.
    `flush` returns what is left when the reply ends.

    A boundary is only recognized once the character after it has arrived (a space), so
    "3.5" and "e.g. this" are not cut, at the cost of one token of delay.
    """

    def __init__(self, rules: PhraseRules | None = None) -> None:
        self.rules = rules or PhraseRules()
        self._buffer = ""
        self._first = True

    def push(self, delta: str) -> list[str]:
        self._buffer += delta
        phrases: list[str] = []
        while (cut := self._next_cut()) is not None:
            phrase, self._buffer = self._buffer[:cut], self._buffer[cut:]
            phrases.append(phrase.strip())
            self._first = False
        return phrases

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

    def _next_cut(self) -> int | None:
        for match in _SENTENCE_END.finditer(self._buffer):
            end = match.end()
            if end >= self.rules.min_sentence_chars and not self._is_abbreviation(match.start()):
                return end
        least = self.rules.min_clause_chars
        if self._first and self.rules.first_clause_chars is not None:
            least = self.rules.first_clause_chars
        if len(self._buffer) >= least:
            clause_cuts = [m.end() for m in _CLAUSE_END.finditer(self._buffer)]
            usable = [c for c in clause_cuts if c >= least]
            if usable:
                return usable[-1]
        if self._first and self.rules.first_break_words is not None:
            return self._break_before_word(self.rules.first_break_words)
        return None

    def _break_before_word(self, words_before: int) -> int | None:
        """The start of the first complete break word (one followed by a space, so "at" is
        not "attention") with at least `words_before` words before it."""
        for match in _WORD_AHEAD.finditer(self._buffer):
            word_start = match.start(1)
            if (
                match.group(1).lower() in _BREAK_BEFORE
                and len(self._buffer[:word_start].split()) >= words_before
            ):
                return match.start()
        return None

    def _is_abbreviation(self, dot_index: int) -> bool:
        if self._buffer[dot_index] != ".":
            return False
        word = self._buffer[:dot_index].rsplit(maxsplit=1)[-1:] or [""]
        token = word[0].lower().lstrip("(\"'")
        return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
