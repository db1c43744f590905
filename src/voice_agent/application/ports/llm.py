"""Streaming language model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from voice_agent.domain.history import ChatMessage


@dataclass(frozen=True, slots=True)
class LlmCapabilities:
    tool_calls: bool = True


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call. `parameters` is a JSON schema object."""

    name: str
    description: str
    parameters: Mapping[str, object] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call (adapters accumulate streamed argument fragments first)."""

    name: str
    arguments: Mapping[str, object]
    id: str = ""


@dataclass(frozen=True, slots=True)
class UsageReport:
    prompt_tokens: int
    completion_tokens: int


LlmEvent = TextDelta | ToolCall | UsageReport


class LanguageModel(Protocol):
    @property
    def capabilities(self) -> LlmCapabilities: ...

    def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[LlmEvent]:
        """Stream the reply. Cancel by closing the iterator (or cancelling the task reading
        it); the adapter stops generating and frees the connection. Failures raise
        `ProviderError`."""
        ...
