"""A scripted language model: replies in order, streamed at a set pace, with failures and
tool calls on demand. It records every request so tests can check what the model saw."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from voice_agent.application.ports.errors import (
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from voice_agent.application.ports.llm import (
    LlmCapabilities,
    LlmEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageReport,
)
from voice_agent.domain.history import ChatMessage

_TOKEN = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class ScriptedToolCall:
    name: str
    arguments: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    text: str = ""
    tool_calls: Sequence[ScriptedToolCall] = ()
    ttft_s: float | None = None
    """Overrides the model's default time to first token for this reply."""
    tokens_per_second: float | None = None
    fail_after_tokens: int | None = None
    """Raise after streaming this many tokens (0: fail before the first token)."""
    failure: str = "unavailable"
    """"unavailable" or "timeout"."""


@dataclass(frozen=True, slots=True)
class FakeLlmSettings:
    ttft_s: float = 0.3
    tokens_per_second: float = 60.0


class ScriptedLanguageModel:
    """Answers the n-th request with the n-th scripted reply, then with `default`."""

    def __init__(
        self,
        replies: Sequence[ScriptedReply] = (),
        *,
        settings: FakeLlmSettings | None = None,
        default: ScriptedReply | None = None,
    ) -> None:
        self.settings = settings or FakeLlmSettings()
        self._replies = list(replies)
        self._default = default or ScriptedReply("Okay.")
        self.requests: list[list[ChatMessage]] = []
        self.tools_seen: list[list[str]] = []
        self.cancelled = 0
        self.failed = 0
        self.completed = 0

    @property
    def capabilities(self) -> LlmCapabilities:
        return LlmCapabilities(tool_calls=True)

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[LlmEvent]:
        index = len(self.requests)
        self.requests.append(list(messages))
        self.tools_seen.append([t.name for t in tools])
        reply = self._replies[index] if index < len(self._replies) else self._default
        ttft = reply.ttft_s if reply.ttft_s is not None else self.settings.ttft_s
        tps = reply.tokens_per_second or self.settings.tokens_per_second
        tokens = _TOKEN.findall(reply.text)
        finished = False
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(ttft)
            first_token_at = loop.time()
            for n, token in enumerate(tokens):
                self._maybe_fail(reply, n)
                # Pace on an absolute schedule: no drift, and no timer at all (whose
                # millisecond granularity would add delay) when tokens are due already.
                due = first_token_at + n / tps
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                yield TextDelta(token)
            self._maybe_fail(reply, len(tokens))
            for call in reply.tool_calls:
                yield ToolCall(call.name, dict(call.arguments), id=f"call_{index}")
            yield UsageReport(
                prompt_tokens=sum(len(m.content) // 4 + 4 for m in messages),
                completion_tokens=len(tokens),
            )
            finished = True
            self.completed += 1
        except ProviderError:
            finished = True
            self.failed += 1
            raise
        finally:
            if not finished:
                self.cancelled += 1

    @staticmethod
    def _maybe_fail(reply: ScriptedReply, produced: int) -> None:
        if reply.fail_after_tokens is not None and produced >= reply.fail_after_tokens:
            if reply.failure == "timeout":
                raise ProviderTimeout("fake-llm", "no tokens within the deadline")
            raise ProviderUnavailable("fake-llm", "503 service unavailable")
