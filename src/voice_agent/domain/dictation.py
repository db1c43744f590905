"""Is the caller still dictating? Emails, numbers, codes, addresses, dates and spellings.

Callers pause inside dictation (to read a card, to remember a digit) and recognizers put a
full stop on the pause, so an incomplete value means "unfinished" whatever the punctuation:
an email without its domain, a phone number under seven digits, a house number without its
street type ("12 Baker"), a date of birth without a day, a code or spelling still coming.
"""

from __future__ import annotations

import re

_DICTATION = re.compile(
    r"\b(?P<kind>e-?mail(?: address)?|(?:[a-z]+ )?(?:number|code)|address|post ?code"
    r"|zip(?: code)?|name|date of birth|birthday)(?: is|'s)\b"
    r"|\b(?P<lives_at>(?:live|living|located|based) at)\b"
    r"|\b(?P<spelled>spelled|spelt)\b|\b(?P<ends_in>ends in|ending in)\b"
)
_EMAIL_ADDRESS = re.compile(r"\S+@\S+\.[a-z]{2,}\b", re.IGNORECASE)
_DIGIT_WORDS = frozenset("zero oh o one two three four five six seven eight nine".split())
_TOP_LEVEL_DOMAINS = frozenset(
    "com org net edu gov io uk de fr ca au co info biz us me ie nz".split()
)
_STREET_TYPES = frozenset(
    """street st road rd avenue ave lane ln drive dr way close court ct place pl boulevard
    blvd crescent terrace square row highway hwy parkway walk mews gardens circle alley
    parade""".split()
)
_ORDINAL = re.compile(
    r"(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth|(?:thir|four|fif|six|seven|eigh|nine)teenth|twentieth|thirtieth)$"
)
_MIN_PHONE_DIGITS = 7
_MIN_CARD_ENDING_DIGITS = 4


def dictation_unfinished(raw: str, lowered: str, marked: bool) -> bool:
    """True when the caller started dictating something and it is not complete yet.

    `raw` is the text as recognized, `lowered` its words joined by spaces, `marked` whether
    the recognizer closed it with `.`, `?` or `!` (which completes a spelling or a code
    only: elsewhere it is the recognizer's full stop on a pause)."""
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
        return digit_count(value) < _MIN_CARD_ENDING_DIGITS
    if match.group("lives_at"):
        return _address_unfinished(value, marked)
    kind = match.group("kind")
    if kind.startswith(("email", "e-mail", "mail")):
        return not _EMAIL_ADDRESS.search(raw) and not (
            len(value) >= 2 and value[-2] == "dot" and value[-1] in _TOP_LEVEL_DOMAINS
        )
    if kind.endswith("number"):
        digits = digit_count(value)
        return 0 < digits < _MIN_PHONE_DIGITS
    if kind in ("date of birth", "birthday"):
        return not any(word[0].isdigit() or _ORDINAL.search(word) for word in value)
    if kind == "address":
        return _address_unfinished(value, marked)
    return not marked and is_spelling(value[-1])


def is_spelling(word: str) -> bool:
    """A single letter (not "a" or "I") or a digit: someone spelling or dictating."""
    return (len(word) == 1 and word not in ("a", "i")) or word.isdigit()


def digit_count(value: list[str]) -> int:
    """Digits and letters dictated ("555 01" is five, "A B" two, "oh seven" two)."""
    count = 0
    for word in value:
        if word.isdigit():
            count += len(word)
        elif word in _DIGIT_WORDS or len(word) == 1:
            count += 1
    return count


def _address_unfinished(value: list[str], marked: bool) -> bool:
    """A house number opens a street address, which is complete once its street type
    ("Street", "Road", "Avenue"...) is said; without a number, only a trailing letter or
    digit says more is coming."""
    number = next((i for i, word in enumerate(value) if word[0].isdigit()), None)
    if number is None:
        return not marked and is_spelling(value[-1])
    return not any(word in _STREET_TYPES for word in value[number + 1 :])
