"""The conversation's state machine: who holds the floor right now."""

from __future__ import annotations

from enum import Enum

from voice_agent.domain.errors import IllegalTransition


class ConversationState(Enum):
    """Who holds the floor."""

    LISTENING = "listening"
    """The caller may speak; the agent is silent."""
    THINKING = "thinking"
    """The agent took the floor (the caller finished a turn, or a canned line is due); its
    reply is being prepared but no audio is out yet."""
    SPEAKING = "speaking"
    """Agent audio is being played to the caller (from the reply's first audio on)."""
    ENDED = "ended"
    """The call is over; nothing else may happen."""


_ALLOWED: dict[ConversationState, frozenset[ConversationState]] = {
    ConversationState.LISTENING: frozenset({ConversationState.THINKING, ConversationState.ENDED}),
    ConversationState.THINKING: frozenset(
        {ConversationState.SPEAKING, ConversationState.LISTENING, ConversationState.ENDED}
    ),
    ConversationState.SPEAKING: frozenset({ConversationState.LISTENING, ConversationState.ENDED}),
    ConversationState.ENDED: frozenset(),
}


class ConversationStateMachine:
    """Holds the current state and refuses transitions the conversation cannot make.

    Every reply, canned lines (greeting, prompts) included, goes LISTENING -> THINKING ->
    SPEAKING: the agent is speaking only once its first audio is out.
    """

    def __init__(self, initial: ConversationState = ConversationState.LISTENING) -> None:
        self._state = initial
        self.history: list[ConversationState] = [initial]

    @property
    def state(self) -> ConversationState:
        return self._state

    def can_move_to(self, target: ConversationState) -> bool:
        return target in _ALLOWED[self._state]

    def move_to(self, target: ConversationState) -> None:
        if not self.can_move_to(target):
            raise IllegalTransition(f"cannot go from {self._state.name} to {target.name}")
        self._state = target
        self.history.append(target)
