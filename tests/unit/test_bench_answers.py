"""The answers benchmark's checks and the question files it refuses."""

from __future__ import annotations

import pytest
from bench.answers import QuestionsError, flags_for, parse_calls, sampling_with


def test_calls_are_paragraphs_and_comments_are_skipped() -> None:
    source = "# intro\n\nOne?\n# note\nTwo?\n\n\nThree?\n"
    assert parse_calls(source) == [["One?", "Two?"], ["Three?"]]


def test_a_file_without_questions_is_refused() -> None:
    with pytest.raises(QuestionsError, match="no caller questions"):
        parse_calls("# only a comment\n\n")


def test_each_check_flags_its_answer() -> None:
    earlier = ["We are open from 8 am to 6 pm on weekdays."]
    assert flags_for("", earlier) == ("empty",)
    assert flags_for(" ".join(["word"] * 31), []) == ("long",)
    assert flags_for("I'm sorry for your loss, how can I help?", []) == ("opener",)
    assert flags_for("As an AI, I cannot book.", []) == ("opener",)
    assert flags_for("We are open from 8 am to 6 pm on weekdays!", earlier) == ("repeat",)
    assert flags_for("A cleaning is 60 dollars.", earlier) == ()


@pytest.mark.parametrize(
    ("option", "reason"),
    [("colour=red", "NAME one of"), ("top_p", "NAME=VALUE"), ("max_tokens=many", "not a int")],
)
def test_bad_sampling_overrides_are_refused(option: str, reason: str) -> None:
    with pytest.raises(QuestionsError, match=reason):
        sampling_with([option])


def test_sampling_overrides_take_the_field_type() -> None:
    settings = sampling_with(["temperature=0.3", "max_tokens=60", "never_say=false"])
    assert (settings.temperature, settings.max_tokens, settings.never_say) == (0.3, 60, False)
