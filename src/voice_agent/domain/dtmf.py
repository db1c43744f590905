"""Telephone keypad digits (DTMF) and their RFC 4733 event codes."""

from __future__ import annotations

DTMF_DIGITS = "0123456789*#ABCD"
"""The sixteen DTMF digits, in RFC 4733 event-code order (0-9 are 0-9, `*` 10, `#` 11,
A-D 12-15)."""


def dtmf_code(digit: str) -> int:
    """The RFC 4733 event code of `digit` (one of `DTMF_DIGITS`)."""
    return DTMF_DIGITS.index(digit)


def checked_dtmf(digits: str) -> str:
    """`digits` if every one is a DTMF digit; otherwise a `ValueError` naming the first that
    is not and where it is."""
    if not digits:
        raise ValueError("no DTMF digits given: send one or more of 0-9 * # A-D")
    for position, digit in enumerate(digits):
        if digit not in DTMF_DIGITS:
            raise ValueError(
                f"not a DTMF digit: {digit!r} at position {position} of {digits!r}"
                " (use 0-9 * # A-D)"
            )
    return digits
