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
