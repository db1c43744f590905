import pytest

from voice_agent.application.phrases import PhraseAggregator, PhraseRules


def feed(text: str, *, step: int = 3, rules: PhraseRules | None = None) -> list[str]:
    aggregator = PhraseAggregator(rules)
    phrases: list[str] = []
    for i in range(0, len(text), step):
        phrases += aggregator.push(text[i : i + step])
    return phrases + aggregator.flush()


def test_sentences_come_out_one_by_one_as_soon_as_they_end() -> None:
    aggregator = PhraseAggregator()
    assert aggregator.push("Sure thing. What") == ["Sure thing."]
    assert aggregator.push(" time works?") == []
    assert aggregator.push(" ") == ["What time works?"]
    assert aggregator.flush() == []


def test_a_boundary_waits_for_the_next_character() -> None:
    aggregator = PhraseAggregator()
    assert aggregator.push("It costs 3.") == []
    assert aggregator.push("50 dollars. Okay") == ["It costs 3.50 dollars."]


@pytest.mark.parametrize(
    "text",
    ["Dr. Smith is in today.", "We open at 9 a.m. sharp.", "Ask for J. Doe at the desk."],
)
def test_abbreviations_do_not_end_a_sentence(text: str) -> None:
    assert feed(text) == [text]


def test_a_very_short_sentence_is_joined_to_the_next() -> None:
    assert feed("Hi. How are you today? Fine.") == ["Hi. How are you today?", "Fine."]


def test_a_long_sentence_is_cut_at_a_clause_boundary() -> None:
    text = (
        "We have tables at six, seven and eight tonight, and the terrace is open "
        "if the weather holds"
    )
    phrases = feed(text)
    assert len(phrases) == 2
    assert phrases[0].endswith(",")
    assert " ".join(phrases) == text


def test_flush_returns_the_unfinished_rest() -> None:
    assert feed("No punctuation at the end") == ["No punctuation at the end"]
    assert feed("   ") == []


def test_every_character_comes_out_exactly_once() -> None:
    text = "One. Two, three; four! Five? Six, seven, eight, nine, ten, eleven, twelve."
    assert " ".join(feed(text, step=1)).split() == text.split()


def test_the_first_phrase_may_end_at_an_early_comma_when_asked() -> None:
    text = "Sorry, we are closed on Sunday, but we open on Monday at eight in the morning."
    early = feed(text, rules=PhraseRules(first_clause_chars=12))
    assert early[0] == "Sorry, we are closed on Sunday,"
    assert " ".join(early) == text
    assert feed(text) == [text], "by default a sentence this short stays whole"


EARLY_BREAK = PhraseRules(first_break_words=3)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("We are open from nine to five on Saturday.", "We are open"),
        ("I can book a cleaning for Tuesday at ten.", "I can book a cleaning"),
        ("We close on Friday at half past six.", "We close on Friday"),
        ("Your appointment is confirmed and we will call you.", "Your appointment is confirmed"),
    ],
)
def test_the_first_phrase_may_end_before_a_conjunction_or_preposition(
    text: str, first: str
) -> None:
    phrases = feed(text, step=1, rules=EARLY_BREAK)
    assert phrases[0] == first
    assert " ".join(phrases) == text


@pytest.mark.parametrize(
    "text",
    [
        "We do a lot of cleanings every week.",  # "of" is no place to pause
        "We are happy to help you today.",  # nor "to"
        "We open at eight.",  # too few words before "at"
        "It is just attentiveness we offer.",  # "at..." is not "at"
    ],
)
def test_no_early_break_where_a_speaker_would_not_pause(text: str) -> None:
    assert feed(text, step=1, rules=EARLY_BREAK) == [text]


def test_only_the_first_phrase_breaks_before_a_word() -> None:
    text = "We are open from nine. We take cards and cash at the desk."
    assert feed(text, step=2, rules=EARLY_BREAK) == [
        "We are open",
        "from nine.",
        "We take cards and cash at the desk.",
    ]
