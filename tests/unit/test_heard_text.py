from voice_agent.domain.heard_text import SpokenSpan, heard_text

WORDS = [
    SpokenSpan("We", 0.0, 0.2),
    SpokenSpan("open", 0.2, 0.5),
    SpokenSpan("at", 0.5, 0.6),
    SpokenSpan("nine.", 0.6, 1.0),
]


def test_word_timings_keep_the_words_played() -> None:
    assert heard_text(WORDS, 0.55) == "We open at"
    assert heard_text(WORDS, 5.0) == "We open at nine."
    assert heard_text(WORDS, 0.0) == ""


def test_a_word_half_played_counts_as_heard() -> None:
    assert heard_text(WORDS, 0.82) == "We open at nine."
    assert heard_text(WORDS, 0.75) == "We open at"


def test_a_phrase_span_is_cut_in_proportion_to_the_time_played() -> None:
    span = [SpokenSpan("one two three four", 0.0, 2.0)]
    assert heard_text(span, 1.0) == "one two"
    assert heard_text(span, 2.0) == "one two three four"


def test_spans_in_any_order_are_read_by_time() -> None:
    assert heard_text(list(reversed(WORDS)), 0.55) == "We open at"
