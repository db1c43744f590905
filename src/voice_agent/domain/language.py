"""Text rules about how people talk on the phone: words, backchannels, goodbyes (the end of
a turn is judged in `turn_end`).

These are deliberately small, explicit word lists: they are easy to read, test and extend,
and they run in microseconds on the hot path of every end-of-turn decision.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+(?:-[a-z0-9']+)*")

# Sounds that signal listening, not a bid for the floor.
_BACKCHANNELS = frozenset(
    """mm mmm mm-hm mm-hmm mhm mhmm hm hmm uh-huh uh huh um uh ah oh yeah yep yes ok okay
    right sure alright aha""".split()
)
_GOODBYE = re.compile(r"\b(good ?bye|bye(?:[ -]bye)?|bye now|see you|talk to you later)\W*$")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def is_backchannel(text: str) -> bool:
    """True when the words are only listening noises ("mm-hm", "yeah", "okay") or nothing."""
    return all(word in _BACKCHANNELS for word in words(text))


def is_goodbye(text: str) -> bool:
    """True when the caller's turn ends by taking leave."""
    return bool(_GOODBYE.search(text.lower().strip()))
