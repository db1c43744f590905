"""The contract every `LanguageModel` adapter passes: subclass and provide `llm`."""

from __future__ import annotations

import asyncio

from voice_agent.application.ports.llm import LanguageModel, TextDelta, ToolCall, ToolSpec
from voice_agent.domain.history import ChatMessage, MessageRole

TIMEOUT_S = 60.0
PROMPT = [
    ChatMessage(MessageRole.SYSTEM, "You are a polite receptionist. Answer in one sentence."),
    ChatMessage(MessageRole.USER, "Hello, are you open today?"),
]


async def _reply_text(llm: LanguageModel) -> tuple[str, int]:
    deltas = [e async for e in llm.stream(PROMPT) if isinstance(e, TextDelta)]
    return "".join(d.text for d in deltas), len(deltas)


class LanguageModelContract:
    async def test_the_reply_streams_in_several_text_deltas(self, llm: LanguageModel) -> None:
        text, deltas = await asyncio.wait_for(_reply_text(llm), TIMEOUT_S)
        assert text.strip()
        assert deltas >= 2, "a reply must stream, not arrive in one piece"

    async def test_closing_the_stream_early_stops_cleanly_and_the_model_stays_usable(
        self, llm: LanguageModel
    ) -> None:
        stream = llm.stream(PROMPT)
        first = await asyncio.wait_for(anext(stream), TIMEOUT_S)
        assert isinstance(first, TextDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        text, _ = await asyncio.wait_for(_reply_text(llm), TIMEOUT_S)
        assert text.strip()

    async def test_cancelling_the_reading_task_frees_the_model(self, llm: LanguageModel) -> None:
        started = asyncio.Event()

        async def read_forever() -> None:
            async for _ in llm.stream(PROMPT):
                started.set()

        task = asyncio.create_task(read_forever())
        await asyncio.wait_for(started.wait(), TIMEOUT_S)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        text, _ = await asyncio.wait_for(_reply_text(llm), TIMEOUT_S)
        assert text.strip()


END_CALL = ToolSpec("end_call", "Hang up the call when the caller is done.")


class ToolCallingContract:
    """For adapters whose capabilities say `tool_calls=True`: provide `tool_calling_llm`,
    an adapter set up (scripted or prompted) to call `end_call` for `TOOL_PROMPT`."""

    async def test_a_tool_call_arrives_whole_with_parsed_arguments(
        self, tool_calling_llm: LanguageModel
    ) -> None:
        assert tool_calling_llm.capabilities.tool_calls
        events = [e async for e in tool_calling_llm.stream(PROMPT, [END_CALL])]
        calls = [e for e in events if isinstance(e, ToolCall)]
        assert [c.name for c in calls] == ["end_call"]
        assert isinstance(calls[0].arguments, dict)
