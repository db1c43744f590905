"""Text rules about how people talk on the phone: unfinished sentences, backchannels, goodbyes.

These are deliberately small, explicit word lists: they are easy to read, test and extend,
and they run in microseconds on the hot path of every end-of-turn decision.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+(?:-[a-z0-9']+)*")

# A turn ending with one of these is very likely unfinished ("I'd like to book a table and").
_TRAILING_CONTINUATIONS = frozenset(
    """and or but so because then with to for of the a an my our your their is are was
    were um uh er like if that which who when where at in on from about plus also""".split()
)
# Phrases after which a caller is about to dictate something.
_UNFINISHED_ENDINGS = (
    "my number is",
    "my phone number is",
    "my name is",
    "my email is",
    "my address is",
    "it's",
    "it is",
    "let me think",
    "let me see",
    "i want to",
    "i would like to",
    "i'd like to",
    "i need to",
)
# Sounds that signal listening, not a bid for the floor.
_BACKCHANNELS = frozenset(
    """mm mmm mm-hm mm-hmm mhm mhmm hm hmm uh-huh uh huh um uh ah oh yeah yep yes ok okay
    right sure alright aha""".split()
)
_GOODBYE = re.compile(r"\b(good ?bye|bye(?:[ -]bye)?|bye now|see you|talk to you later)\W*$")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def looks_unfinished(text: str) -> bool:
    """True when the caller's words so far read like the middle of a sentence."""
    lowered = " ".join(words(text))
    if not lowered:
        return False
    if any(lowered.endswith(ending) for ending in _UNFINISHED_ENDINGS):
        return True
    return lowered.split()[-1] in _TRAILING_CONTINUATIONS


def is_backchannel(text: str) -> bool:
    """True when the words are only listening noises ("mm-hm", "yeah", "okay") or nothing."""
    return all(word in _BACKCHANNELS for word in words(text))


def is_goodbye(text: str) -> bool:
    """True when the caller's turn ends by taking leave."""
    return bool(_GOODBYE.search(text.lower().strip()))
