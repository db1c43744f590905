"""The dialogue the language model sees, trimmed to a token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum


class MessageRole(Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: MessageRole
    content: str


TokenCounter = Callable[[str], int]


def approximate_tokens(text: str) -> int:
    """About four characters per token for English, plus a little per-message overhead.

    Good enough to keep a prompt under a context window; a model adapter with a real
    tokenizer can be passed in instead.
    """
    return len(text) // 4 + 4


class DialogueHistory:
    """System prompt plus turns. `for_model()` keeps the system prompt always and drops the
    oldest turns first until the rest fits in `budget_tokens`.

    Interrupted agent turns must be added with the text the caller actually heard: the model
    must not believe it said what was cut off.
    """

    def __init__(
        self,
        system_prompt: str,
        budget_tokens: int,
        count_tokens: TokenCounter = approximate_tokens,
    ) -> None:
        if budget_tokens <= 0:
            raise ValueError(f"token budget must be positive, got {budget_tokens}")
        self.system = ChatMessage(MessageRole.SYSTEM, system_prompt)
        self.budget_tokens = budget_tokens
        self._count = count_tokens
        self._messages: list[ChatMessage] = []

    @property
    def messages(self) -> Sequence[ChatMessage]:
        """The messages still held (the system prompt excluded). Messages that can never fit
        the budget again are forgotten, so an hour-long call does not grow memory; the
        repository keeps the full transcript."""
        return tuple(self._messages)

    def add_user(self, text: str) -> None:
        self._append(ChatMessage(MessageRole.USER, text))

    def add_assistant(self, text: str) -> None:
        """Add what the agent said (or, after an interruption, what was heard). Empty text
        (the caller heard nothing) is not added."""
        self._append(ChatMessage(MessageRole.ASSISTANT, text))

    def extend_last_user(self, text: str) -> None:
        """The caller went on speaking before any reply was heard: one turn, not two."""
        if self._messages and self._messages[-1].role is MessageRole.USER:
            merged = f"{self._messages[-1].content} {text}".strip()
            self._messages[-1] = ChatMessage(MessageRole.USER, merged)
        else:
            self.add_user(text)

    def for_model(self) -> list[ChatMessage]:
        remaining = self.budget_tokens - self._count(self.system.content)
        kept: list[ChatMessage] = []
        for message in reversed(self._messages):
            cost = self._count(message.content)
            if cost > remaining:
                break
            kept.append(message)
            remaining -= cost
        kept.reverse()
        return [self.system, *kept]

    def _append(self, message: ChatMessage) -> None:
        if message.content.strip():
            self._messages.append(message)
            self._forget_what_cannot_fit()

    def _forget_what_cannot_fit(self) -> None:
        remaining = self.budget_tokens - self._count(self.system.content)
        keep = 0
        for message in reversed(self._messages):
            remaining -= self._count(message.content)
            if remaining < 0:
                break
            keep += 1
        # Keep one message more than fits: `extend_last_user` may still need it.
        del self._messages[: max(0, len(self._messages) - keep - 1)]
