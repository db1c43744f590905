"""Cuts a stream of LLM tokens into phrases worth sending to speech synthesis early."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof vs etc e.g i.e a.m p.m approx no inc ltd co".split()
)
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014]\s")


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
        return None

    def _is_abbreviation(self, dot_index: int) -> bool:
        if self._buffer[dot_index] != ".":
            return False
        word = self._buffer[:dot_index].rsplit(maxsplit=1)[-1:] or [""]
        token = word[0].lower().lstrip("(\"'")
        return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
