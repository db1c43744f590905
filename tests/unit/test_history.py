import pytest

from voice_agent.domain.history import DialogueHistory, MessageRole


def chars(text: str) -> int:
    return len(text)


def test_the_system_prompt_is_always_first_and_kept() -> None:
    history = DialogueHistory("S" * 50, budget_tokens=60, count_tokens=chars)
    history.add_user("u" * 100)
    messages = history.for_model()
    assert [m.role for m in messages] == [MessageRole.SYSTEM]


def test_oldest_turns_are_dropped_first() -> None:
    history = DialogueHistory("sys", budget_tokens=3 + 30, count_tokens=chars)
    for n in range(5):
        history.add_user(f"user {n} ..")  # 10 chars each
        history.add_assistant(f"agent {n} .")  # 10 chars each
    kept = [m.content for m in history.for_model()]
    assert kept == ["sys", "agent 3 .", "user 4 ..", "agent 4 ."]


def test_empty_text_is_not_added() -> None:
    history = DialogueHistory("sys", budget_tokens=100)
    history.add_assistant("")
    history.add_user("   ")
    assert history.messages == ()


def test_continuing_speech_extends_the_last_caller_message() -> None:
    history = DialogueHistory("sys", budget_tokens=100)
    history.add_user("my number is")
    history.extend_last_user("555 1234")
    assert [m.content for m in history.messages] == ["my number is 555 1234"]


def test_a_non_positive_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="token budget must be positive"):
        DialogueHistory("sys", budget_tokens=0)


def test_messages_that_can_never_fit_again_are_forgotten() -> None:
    history = DialogueHistory("sys", budget_tokens=3 + 30, count_tokens=chars)
    for n in range(1000):
        history.add_user(f"user {n:03d}.")
    assert len(history.messages) <= 4
    assert history.messages[-1].content == "user 999."
