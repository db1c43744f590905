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


# Issue 12, second round: classes of turns the first rules misjudged, each with the finished
# neighbours the new rule must leave alone.
RULE_CLASSES = {
    "'so' completes an answer after a verb of thinking or saying, else it continues": (
        ["no I don't think so", "I'm afraid so", "Ten minutes or so", "I told you so."],
        ["The sink is blocked so", "It's urgent, so.", "and so"],
    ),
    "a subject with no verb yet, whatever the punctuation": (
        ["It's Tom's.", "Yes, it's mine.", "So do I.", "It was me and my wife."],
        ["It's for my son, he's", "Because they're.", "My wife and I", "And then we", "So let's"],
    ),
    "a subordinator or a preposition left open": (
        ["I've been there before.", "Can you put me through?", "What are you into"],
        ["Could you tell me whether", "I can't come unless.", "It happened during", "via"],
    ),
    "a title with no name after it": (
        ["I need a doctor.", "Thank you, Doctor.", "thanks doctor", "5 Maple Dr."],
        ["She usually sees Doctor", "I'd like to see Dr.", "the appointment is for mrs"],
    ),
    "an inverted question with no verb yet, when unpunctuated": (
        ["Could you?", "yes I can", "neither can we", "how are you"],
        ["Yes, I'd like that, and could you", "but can we", "also could I"],
    ),
    "fillers and discourse markers only": (
        ["Yes, basically.", "Um, okay.", "So?", "Well?", "Actually, yes."],
        ["uh so basically", "well I mean", "Uh, so, well.", "Well, actually"],
    ),
    "'then' continues after a conjunction only": (
        ["see you tomorrow then", "Okay bye then.", "Great, see you then."],
        ["and then", "I paid and then.", "then"],
    ),
    "a street address without its street type": (
        ["My address is 221 Baker Street.", "I live at 5 Maple Drive", "It's on Elm Road."],
        ["The address is 12 Baker", "My address is 18 Church.", "we live at 23"],
    ),
    "a date of birth without a day": (
        ["My date of birth is the third of March.", "My birthday is June first."],
        ["My date of birth is March", "My birthday is in"],
    ),
    "a code still being read out": (
        ["The reference code is B 7 X 2 9."],
        ["The reference code is B 7", "The code is."],
    ),
}


@pytest.mark.parametrize("rule", RULE_CLASSES)
def test_each_rule_class_catches_its_turns_and_spares_its_neighbours(rule: str) -> None:
    finished, unfinished = RULE_CLASSES[rule]
    assert [text for text in finished if looks_unfinished(text)] == []
    assert [text for text in unfinished if not looks_unfinished(text)] == []
