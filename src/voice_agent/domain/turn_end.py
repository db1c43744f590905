"""Text rules for the end of a caller's turn: finished, or paused in the middle of a thought?

The evidence, strongest first:
1. How the recognizer ended the text. A trailing comma, dash or ellipsis ("and...", "Uh,")
   means the caller trailed off; a sentence-final `.`, `?` or `!` means they finished,
   except after an incomplete dictation ("My email is anna."), a conjunction ("and.") or a
   hesitation ("Um, let me think."), where recognizers put a full stop on the pause.
2. Dictation in progress: an email without its domain, a phone number under seven digits,
   spelled letters or digits still coming ("It's spelled K O W").
3. Without punctuation (streaming recognizers), the last words: a trailing conjunction,
   article or preposition ("...and", "...at around"), except a preposition stranded at the
   end of a wh-question ("what is that for") or a pronoun object ("can you repeat that").
"""

from __future__ import annotations

import re

from voice_agent.domain.language import words

_SENTENCE_END = re.compile(r"(?<!\.\.)[.?!]['\")\]]*$")
_TRAILING_OFF = re.compile(r"(\.\.\.|\u2026|[,;:\-\u2013\u2014])['\")\]]*$")
_EMAIL_ADDRESS = re.compile(r"\S+@\S+\.[a-z]{2,}\b", re.IGNORECASE)

# Words no finished sentence ends with, even when the recognizer put a full stop after them.
_NEVER_FINAL = frozenset(
    """and or but nor so because if plus also the a an my our your their um uh er erm
    ah""".split()
)
# Words that end an unpunctuated turn only when the caller goes on.
_TRAILING_CONTINUATIONS = _NEVER_FINAL | frozenset(
    """then with to for of is are was were be like which who when where at in on from
    about around under after either maybe""".split()
)
# Prepositions a wh-question leaves stranded at its end ("Who am I talking to").
_STRANDED = frozenset("with to for of at in on from about around under after".split())
_WH_WORDS = frozenset(
    """what what's whats who who's whom whose where where's when which why how how's""".split()
)
_LEADING_FILLERS = frozenset("so and sorry okay ok yes yeah no um uh well hi hello oh".split())
# "that" continues the sentence after these ("I think that"), else it is an object.
_THAT_INTRODUCERS = frozenset(
    "is was think thought said say says know knew sure hope mean guess so such".split()
)
_UNFINISHED_ENDINGS = tuple(
    f" {ending}"
    for ending in ("let me", "it's", "it is", "i want to", "i would like to", "i'd like to")
)
_HESITATIONS = (" let me think", " let me see", " um", " uh", " er", " erm")
"""Whole words ("mother" does not end with the hesitation "er")."""

_DICTATION = re.compile(
    r"\b(?P<kind>e-?mail(?: address)?|(?:[a-z]+ )?number|address|post ?code|zip(?: code)?"
    r"|name|date of birth|birthday)(?: is|'s)\b"
    r"|\b(?P<spelled>spelled|spelt)\b|\b(?P<ends_in>ends in|ending in)\b"
)
_DIGIT_WORDS = frozenset("zero oh o one two three four five six seven eight nine".split())
_TOP_LEVEL_DOMAINS = frozenset(
    "com org net edu gov io uk de fr ca au co info biz us me ie nz".split()
)
_MIN_PHONE_DIGITS = 7
_MIN_CARD_ENDING_DIGITS = 4


def looks_unfinished(text: str) -> bool:
    """True when the caller's words so far read like the middle of a sentence."""
    stripped = text.strip()
    said = words(stripped)
    if not said:
        return False
    if _TRAILING_OFF.search(stripped):
        return True
    marked = bool(_SENTENCE_END.search(stripped))
    lowered = " ".join(said)
    if _dictation_unfinished(stripped, lowered, marked):
        return True
    if said[-1] in _NEVER_FINAL or f" {lowered}".endswith(_HESITATIONS):
        return True
    if marked:
        return False
    return _words_continue(said, lowered)


def ends_sentence(text: str) -> bool:
    """True when the recognizer closed the text with a sentence-final `.`, `?` or `!`."""
    return bool(_SENTENCE_END.search(text.strip()))


def _words_continue(said: list[str], lowered: str) -> bool:
    last = said[-1]
    if _is_spelling(last):
        return True
    if last == "that":
        return len(said) > 1 and said[-2] in _THAT_INTRODUCERS and not _is_wh_question(said)
    if last in _STRANDED and _is_wh_question(said):
        return False
    if f" {lowered}".endswith(_UNFINISHED_ENDINGS):
        return True
    return last in _TRAILING_CONTINUATIONS


def _is_wh_question(said: list[str]) -> bool:
    first = next((word for word in said if word not in _LEADING_FILLERS), "")
    return first in _WH_WORDS


def _is_spelling(word: str) -> bool:
    """A single letter (not "a" or "I") or a digit: someone spelling or dictating."""
    return (len(word) == 1 and word not in ("a", "i")) or word.isdigit()


def _dictation_unfinished(raw: str, lowered: str, marked: bool) -> bool:
    """True when the caller started dictating something and it is not complete yet."""
    found = list(_DICTATION.finditer(lowered))
    if not found:
        return False
    match = found[-1]
    value = lowered[match.end() :].split()
    if not value:
        return True
    if match.group("spelled"):
        return not marked
    if match.group("ends_in"):
        return _digit_count(value) < _MIN_CARD_ENDING_DIGITS
    kind = match.group("kind")
    if kind.startswith(("email", "e-mail", "mail")):
        return not _EMAIL_ADDRESS.search(raw) and not (
            len(value) >= 2 and value[-2] == "dot" and value[-1] in _TOP_LEVEL_DOMAINS
        )
    if kind.endswith("number"):
        digits = _digit_count(value)
        return 0 < digits < _MIN_PHONE_DIGITS
    if kind in ("date of birth", "birthday"):
        return not any(word.isdigit() or word in _DIGIT_WORDS for word in value) and not (
            any(char.isdigit() for char in "".join(value))
        )
    return not marked and _is_spelling(value[-1])


def _digit_count(value: list[str]) -> int:
    """Digits and letters dictated ("555 01" is five, "A B" two, "oh seven" two)."""
    count = 0
    for word in value:
        if word.isdigit():
            count += len(word)
        elif word in _DIGIT_WORDS or len(word) == 1:
            count += 1
    return count
