import pytest

from voice_agent.domain.errors import IllegalTransition
from voice_agent.domain.state import ConversationState as S
from voice_agent.domain.state import ConversationStateMachine


def test_a_normal_turn_goes_listening_thinking_speaking_listening() -> None:
    machine = ConversationStateMachine()
    for state in (S.THINKING, S.SPEAKING, S.LISTENING):
        machine.move_to(state)
    assert machine.history == [S.LISTENING, S.THINKING, S.SPEAKING, S.LISTENING]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), S.LISTENING),
        ((), S.SPEAKING),  # speaking only once audio is out, after THINKING
        ((S.THINKING, S.SPEAKING), S.THINKING),
        ((S.THINKING,), S.THINKING),
        ((S.ENDED,), S.LISTENING),
        ((S.ENDED,), S.ENDED),
    ],
)
def test_an_illegal_transition_raises_and_keeps_the_state(path: tuple[S, ...], illegal: S) -> None:
    machine = ConversationStateMachine()
    for state in path:
        machine.move_to(state)
    before = machine.state
    with pytest.raises(IllegalTransition, match=f"to {illegal.name}"):
        machine.move_to(illegal)
    assert machine.state is before


@pytest.mark.parametrize("state", [S.LISTENING, S.THINKING, S.SPEAKING])
def test_every_live_state_can_end(state: S) -> None:
    machine = ConversationStateMachine(state)
    machine.move_to(S.ENDED)
    assert machine.state is S.ENDED
