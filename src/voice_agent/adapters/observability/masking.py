"""What the log processor hides: secrets (by key name, by type, inside URLs and `name=value`
text) and phone numbers (every common spelling), leaving ordinary numbers readable.

Phone numbers keep their last two digits (`***23`): enough to tell calls apart, not to call
anyone. Recognized spellings: E.164 with `+` or its URL encoding `%2B` (`+15550100123`,
`%2B15550100123`), spaced or punctuated international numbers (`+44 20 7946 0958`,
`+1 (555) 010-0199`), `tel:`/`sip:` URIs, North American formatting (`555-010-1234`) and
E.164 without `+` (11 to 15 bare digits, not part of a longer token). A bare run of digits
starting with 1 counts only with exactly 11 digits (a North American number): so epoch
timestamps in seconds (10 digits) or milliseconds (13 digits) stay readable, as do durations,
ports, ids, UUIDs and ISO timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

SECRET_KEYS = re.compile(
    r"api[_-]?key|token(?!s)|secret|passw(?:or)?d|authorization|credential|cookie|signature",
    re.I,
)
"""Key names whose values are secrets, wherever they appear (`llm_tokens` counts are not)."""
PHONE_KEYS = re.compile(r"phone|msisdn|caller_number|callee|(?:^|_)(?:from|to)_number", re.I)
"""Key names whose integer values are phone numbers."""

# Secrets in URLs: `user:password@` userinfo and secret-looking query parameters.
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(@)")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;][^=&#\s]*?(?:key|token|secret|passw(?:or)?d|pwd|sig|auth|credential)[^=&#\s]*=)"
    r"[^&#\s'\"<>]+"
)
# Secrets written as `name=value` or `name: value` in free text (not a bare number: "first
# token: 120 ms" is a duration), and HTTP authorization schemes.
_TEXT_SECRET = re.compile(
    r"(?i)\b((?:api[_-]?key|(?:access|refresh|id)?[_-]?token|passw(?:or)?d|(?:client[_-]?)?secret)"
    r"\s*[=:]\s*['\"]?)(?!\*\*\*)(?![\d.]+\b)[^\s'\",;&]+"
)
_AUTH_SCHEME = re.compile(r"\b((?i:bearer)|Basic)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{6,}")

# Phone numbers, most specific first. `_` separates a number from its neighbours (LiveKit
# names rooms and SIP callers `call-_+15550100123_aBcD`, `sip_+15550100123`); letters and
# digits do not (a number inside a token is not a phone number).
_SIP_OR_TEL = re.compile(r"(?i)\b(tel|sips?):((?:\+|%2B)?\d[\d().-]{5,}\d)")
_INTERNATIONAL = re.compile(
    r"(?i)(?<![^\W_]|[+%])(?:\+|%2B)(?:"
    r"\d{7,15}(?!\d)"  # compact E.164: does not run on into the next number
    r"|\d{1,4}(?:[ .-]?\(\d{1,5}\)\d{0,8}|[ .-]\d{1,8}){2,6}(?!\d)"  # grouped: +44 20 7946 0958
    r")"
)
_NORTH_AMERICAN = re.compile(r"(?<![\w.-])\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b(?![.-]\d)")
_BARE_E164 = re.compile(r"(?<![^\W_]|[.:/+-])(?:1\d{10}|[2-9]\d{10,14})(?![^\W_]|[:/-]|\.\d)")
E164_DIGITS = range(7, 16)


def mask_phone(number: str) -> str:
    """Keep the last two digits: enough to tell calls apart, not to call anyone."""
    digits = re.sub(r"\D", "", number)
    return f"{MASK}{digits[-2:]}" if len(digits) >= 2 else MASK


def mask_text(text: str) -> str:
    """Every secret and phone number in a line of text, masked."""
    text = _URL_USERINFO.sub(rf"\1{MASK}\2", text)
    text = _QUERY_SECRET.sub(rf"\1{MASK}", text)
    text = _TEXT_SECRET.sub(rf"\1{MASK}", text)
    text = _AUTH_SCHEME.sub(rf"\1 {MASK}", text)
    text = _SIP_OR_TEL.sub(lambda m: f"{m.group(1)}:{mask_phone(m.group(2))}", text)
    text = _INTERNATIONAL.sub(_masked_if_phone, text)
    for pattern in (_NORTH_AMERICAN, _BARE_E164):
        text = pattern.sub(lambda m: mask_phone(m.group()), text)
    return text


def _masked_if_phone(match: re.Match[str]) -> str:
    number = match.group()
    digits = len(re.sub(r"\D", "", number.upper().replace("%2B", "")))
    return mask_phone(number) if digits in E164_DIGITS else number


def mask_value(key: str, value: Any) -> Any:
    """`value` logged under `key`, masked: containers recursively (mappings such as header
    objects, lists, tuples of `(name, value)` pairs), text with `mask_text`, and any other
    object by its `repr` when that shows something to hide."""
    if SECRET_KEYS.search(key) or hasattr(value, "get_secret_value"):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bytes | bytearray):
        return mask_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, bool | float | type(None)):
        return value
    if isinstance(value, int):
        return mask_phone(str(value)) if PHONE_KEYS.search(key) else value
    if isinstance(value, Mapping):
        return {str(_plain(k)): mask_value(str(_plain(k)), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask_item(key, item) for item in value]
    shown = repr(value)
    masked = mask_text(shown)
    return value if masked == shown else masked


def _mask_item(key: str, item: Any) -> Any:
    """A `(name, value)` pair (raw headers, form fields) is masked by its own name."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str | bytes):
        name = str(_plain(item[0]))
        return [name, mask_value(name, item[1])]
    return mask_value(key, item)


def _plain(name: object) -> object:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else name
