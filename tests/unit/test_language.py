import pytest

from voice_agent.domain.language import is_backchannel, is_goodbye
from voice_agent.domain.turn_end import looks_unfinished


@pytest.mark.parametrize(
    "text",
    ["I'd like to book a table and", "My number is", "so my name is", "It's, um", "I want to"],
)
def test_unfinished_sentences(text: str) -> None:
    assert looks_unfinished(text)


@pytest.mark.parametrize("text", ["Book a table for two.", "At seven", "", "Thanks!"])
def test_finished_sentences(text: str) -> None:
    assert not looks_unfinished(text)


@pytest.mark.parametrize("text", ["mm-hm", "Uh-huh.", "yeah yeah", "okay", "", "Mhm, right."])
def test_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["wait", "okay stop", "yeah but seven", "no"])
def test_real_words_are_not_backchannels(text: str) -> None:
    assert not is_backchannel(text)


@pytest.mark.parametrize("text", ["Thanks, goodbye!", "bye", "Okay bye-bye.", "See you"])
def test_goodbyes(text: str) -> None:
    assert is_goodbye(text)


@pytest.mark.parametrize("text", ["Bye, wait, one more thing", "goodbyes are hard to say well"])
def test_goodbye_must_end_the_turn(text: str) -> None:
    assert not is_goodbye(text)
