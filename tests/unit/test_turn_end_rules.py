"""The text end-of-turn rules on the sentences issue 12 reported, and their neighbours."""

import pytest

from voice_agent.domain.turn_end import looks_unfinished

FINISHED = [
    # The false waits: questions and answers ending in prepositions and pronouns.
    "Sorry, could you repeat that?",
    "Who am I talking to?",
    "Yes, I'd like that.",
    "Where are you calling from?",
    "What is this about?",
    # The same from a recognizer that does not punctuate.
    "who am I speaking with",
    "what is that for",
    "can you repeat that",
    # Complete dictation.
    "My number is 555 0142.",
    "My email is anna dot k at gmail dot com.",
    "My email is anna.k@gmail.com",
    "It's P A T E L.",
    "Great, see you then.",
    "Book a table for two.",
    "At seven",
    "Thanks!",
    "",
]
UNFINISHED = [
    # The cut-offs: dictation and sentences stopped mid-way.
    "My email is anna dot",
    "We'll be there at around",
    # A recognizer's full stop does not finish dictation, a conjunction or a hesitation.
    "My email is anna.",
    "My number is 555.",
    "My number is 555 01",
    "The card number ends in 4 4",
    "I need an oil change and.",
    "I need a cleaning, a filling and...",
    "Um, let me think.",
    "It's 4 1 5,",
    "It's spelled K O W",
    "My last name is Smith, S M",
    "The address is 42",
    "My date of birth is March",
    # Unpunctuated continuations.
    "I'd like to book a table and",
    "My number is",
    "so my name is",
    "It's, um",
    "I want to",
    "the reservation is under",
    "Can I get an appointment for",
    "is it possible to",
    "I think that",
]


@pytest.mark.parametrize("text", FINISHED)
def test_finished_turns(text: str) -> None:
    assert not looks_unfinished(text)


@pytest.mark.parametrize("text", UNFINISHED)
def test_unfinished_turns(text: str) -> None:
    assert looks_unfinished(text)


def test_hesitations_are_whole_words() -> None:
    assert not looks_unfinished("I'm calling on behalf of my mother.")
    assert looks_unfinished("It's for my mother, er")
    assert looks_unfinished("It's for my mother er")
