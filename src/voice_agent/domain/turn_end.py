"""Text rules for the end of a caller's turn: finished, or paused in the middle of a thought?

The evidence, strongest first:
1. How the recognizer ended the text. A trailing comma, dash or ellipsis ("and...", "Uh,")
   means the caller trailed off; a sentence-final `.`, `?` or `!` means they finished,
   except where no finished sentence ends, whatever the punctuation: inside a dictation
   ("My email is anna.", see `dictation`), after a conjunction or subordinator ("and.",
   "whether."), an article or possessive, a hesitation ("Um, let me think."), a subject
   with no verb ("he's", "My wife and I"), a title with no name ("Dr."), or a turn of
   fillers and discourse markers only ("Uh, so, well.").
2. Without punctuation (streaming recognizers), the last words: a trailing preposition
   ("...at around", "...during"), a verb that needs more ("I want to"), an inverted
   question with no verb yet ("and could you"), except a preposition stranded at the end
   of a wh-question ("what is that for") or a pronoun object ("can you repeat that").
"""

from __future__ import annotations

import re

from voice_agent.domain.dictation import dictation_unfinished, is_spelling
from voice_agent.domain.language import words

_SENTENCE_END = re.compile(r"(?<!\.\.)[.?!]['\")\]]*$")
_TRAILING_OFF = re.compile(r"(\.\.\.|\u2026|[,;:\-\u2013\u2014])['\")\]]*$")
_VOCATIVE = re.compile(r",\s*\S+\s*$")
"""The last word set off by a comma ("Thank you, Doctor.")."""

_HESITATION_WORDS = frozenset("um uh er erm ah hmm".split())
# Words no finished sentence ends with, even when the recognizer put a full stop after them.
_NEVER_FINAL = _HESITATION_WORDS | frozenset(
    """and or but nor because if whether unless although whereas than plus also the a an
    my our your their its i'm i've i'll i'd you're you've you'll you'd he's he'll he'd
    she's she'll she'd we're we've we'll we'd they're they've they'll they'd it's it'll
    that's there's let's""".split()
)
_SUBJECT_PRONOUNS = frozenset("i we they he she".split())
_AUXILIARIES = frozenset(
    """do does did can could will would shall should may might must am is are was were
    have has had""".split()
)
# Modals and "do" that open a question ("could you ..."), answered in full by "so do I".
_QUESTION_OPENERS = frozenset("do does did can could will would shall should may might".split())
_ECHOES = frozenset("so neither nor too".split())
"""Before an inverted auxiliary, a complete echo ("so do I", "neither can we")."""
_ABBREVIATED_TITLES = frozenset("mr mrs ms dr".split())
_TITLES = _ABBREVIATED_TITLES | frozenset("doctor professor mister missus".split())
_DETERMINERS = frozenset(
    """a an the my our your their his her its this that any another which what""".split()
)
_GREETINGS = frozenset(
    """thank thanks you hi hello hey bye goodbye yes no okay ok sorry morning evening
    afternoon good night""".split()
)
# A turn of these words only, ending on a discourse marker, is an opener ("uh so basically").
_FILLERS = _HESITATION_WORDS | frozenset(
    "so well like basically actually i mean you know okay ok yeah oh and then".split()
)
_DISCOURSE_MARKERS = frozenset("so well like basically actually mean know".split())
# Before a trailing "so", the verbs and words that make it a complete answer ("I think so").
_SO_COMPLETERS = frozenset(
    """think thought believe hope guess suppose afraid say said expect imagine reckon
    seems seem appears or if even not do did does""".split()
)
_CONJUNCTIONS = frozenset("and but so or".split())
# Words that end an unpunctuated turn only when the caller goes on.
_TRAILING_CONTINUATIONS = _NEVER_FINAL | frozenset(
    """with to for of is are was were be like which who when where at in on from about
    around under after either maybe during without between via until since into onto
    towards toward including except regarding concerning among against upon""".split()
)
# Prepositions a wh-question leaves stranded at its end ("Who am I talking to").
_STRANDED = frozenset(
    "with to for of at in on from about around under after into between without".split()
)
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
    for ending in ("let me", "i want to", "i would like to", "i'd like to", "ever since")
)
_HESITATIONS = (" let me think", " let me see")


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
    if dictation_unfinished(stripped, lowered, marked):
        return True
    if _never_final(stripped, said, lowered):
        return True
    if marked:
        return False
    return _words_continue(said, lowered)


def ends_sentence(text: str) -> bool:
    """True when the recognizer closed the text with a sentence-final `.`, `?` or `!`."""
    return bool(_SENTENCE_END.search(text.strip()))


def _never_final(raw: str, said: list[str], lowered: str) -> bool:
    """No finished sentence ends like this, whatever the recognizer's punctuation."""
    last = said[-1]
    before = said[-2] if len(said) > 1 else ""
    if last in _NEVER_FINAL or f" {lowered}".endswith(_HESITATIONS):
        return True
    if last == "so":
        if len(said) == 1:
            return not _asks(raw)
        return before not in _SO_COMPLETERS and said[-3:-1] != ["told", "you"]
    if last == "then":
        return before in _CONJUNCTIONS or len(said) == 1
    if last in _SUBJECT_PRONOUNS:
        return len(said) > 1 and before not in _AUXILIARIES
    if last in _TITLES:
        return _awaits_name(raw, said)
    return _only_fillers(raw, said)


def _awaits_name(raw: str, said: list[str]) -> bool:
    """A title with no name after it ("sees Doctor", "Dr."), unless it is the person
    ("the doctor") or addressed ("Thank you, Doctor"), or "Dr"/"St" ends a street."""
    before = said[:-1]
    if not before or before[-1] in _DETERMINERS or _VOCATIVE.search(raw):
        return False
    if all(word in _GREETINGS for word in before):
        return False
    return not (said[-1] == "dr" and any(char.isdigit() for char in raw))


def _only_fillers(raw: str, said: list[str]) -> bool:
    """Hesitations and discourse markers only, ending on a marker: an opener, not a turn
    ("uh so basically", "Well, actually."); "So?" asks, "Um, okay." answers."""
    return (
        said[-1] in _DISCOURSE_MARKERS and all(word in _FILLERS for word in said) and not _asks(raw)
    )


def _asks(raw: str) -> bool:
    """The recognizer closed the text with a question mark ("So?", "Well?")."""
    return raw.rstrip("'\")]").endswith("?")


def _words_continue(said: list[str], lowered: str) -> bool:
    last = said[-1]
    if is_spelling(last):
        return True
    if last == "that":
        return len(said) > 1 and said[-2] in _THAT_INTRODUCERS and not _is_wh_question(said)
    if last in _STRANDED and _is_wh_question(said):
        return False
    if f" {lowered}".endswith(_UNFINISHED_ENDINGS):
        return not lowered.endswith("ever since")
    if _inverted_question_opened(said):
        return True
    return last in _TRAILING_CONTINUATIONS


def _inverted_question_opened(said: list[str]) -> bool:
    """A question begun, its verb not yet said ("and could you"; not "so do I")."""
    if len(said) < 2 or said[-1] not in _SUBJECT_PRONOUNS | {"you", "it"}:
        return False
    if said[-2] not in _QUESTION_OPENERS:
        return False
    return len(said) == 2 or said[-3] not in _ECHOES


def _is_wh_question(said: list[str]) -> bool:
    first = next((word for word in said if word not in _LEADING_FILLERS), "")
    return first in _WH_WORDS
