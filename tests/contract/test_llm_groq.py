"""The LLM contract for `GroqLanguageModel` against the fake Groq server, plus the wire
details: tool-call accumulation, usage, error mapping, SDK retries off."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

import pytest
from fake_servers.groq import FakeGroqServer, GroqFaults, ScriptedCompletion

from tests.contract.llm_contract import (
    END_CALL,
    PROMPT,
    LanguageModelContract,
    ToolCallingContract,
)
from voice_agent.adapters.groq import GroqLanguageModel, GroqSettings
from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from voice_agent.application.ports.llm import LlmEvent, TextDelta, ToolCall, UsageReport

KEY = "groq-test-key"


_OPEN: list[GroqLanguageModel] = []


@pytest.fixture
async def server() -> AsyncIterator[FakeGroqServer]:
    async with FakeGroqServer() as srv:
        yield srv  # type: ignore[misc]
        while _OPEN:
            await _OPEN.pop().aclose()


def adapter(
    server: FakeGroqServer, *, key: str = KEY, read_timeout_s: float = 4.0
) -> GroqLanguageModel:
    llm = GroqLanguageModel(
        GroqSettings(api_key=key, base_url=server.url, read_timeout_s=read_timeout_s)
    )
    _OPEN.append(llm)
    return llm


@pytest.fixture
def llm(server: FakeGroqServer) -> GroqLanguageModel:
    return adapter(server)


@pytest.fixture
def tool_calling_llm(server: FakeGroqServer) -> GroqLanguageModel:
    server.replies.append(ScriptedCompletion("Goodbye!", tool_calls=[("end_call", {})]))
    return adapter(server)


class TestGroqLanguageModel(LanguageModelContract, ToolCallingContract):
    pass


async def _all(llm: GroqLanguageModel) -> list[LlmEvent]:
    return [e async for e in llm.stream(PROMPT, [END_CALL])]


async def test_tool_call_arguments_are_joined_from_fragments(server: FakeGroqServer) -> None:
    args = {"reason": "caller said goodbye", "rating": 5}
    server.replies.append(ScriptedCompletion("", tool_calls=[("end_call", args)]))
    events = await _all(adapter(server))
    assert [e for e in events if isinstance(e, ToolCall)] == [ToolCall("end_call", args, "call_0")]
    request = server.requests[0]
    assert request["stream"] is True
    assert request["tools"][0]["function"]["name"] == "end_call"
    assert request["messages"][0] == {"role": "system", "content": PROMPT[0].content}


async def test_usage_comes_from_x_groq(server: FakeGroqServer) -> None:
    events = await _all(adapter(server))
    usage = [e for e in events if isinstance(e, UsageReport)]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert usage == [UsageReport(prompt_tokens=42, completion_tokens=len(deltas))]


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, ProviderUnavailable), (500, ProviderUnavailable), (503, ProviderUnavailable)],
)
async def test_overload_is_retryable_and_not_retried_by_the_sdk(
    server: FakeGroqServer, status: int, error: type[ProviderError]
) -> None:
    server.faults = GroqFaults(statuses=deque([status]), retry_after_s=0)
    with pytest.raises(error) as failure:
        await _all(adapter(server))
    assert failure.value.retryable
    assert len(server.requests) == 1, "the SDK must not retry on its own"
    assert [e async for e in adapter(server).stream(PROMPT)]


async def test_bad_credentials_fail_at_verify_without_leaking_the_key(
    server: FakeGroqServer,
) -> None:
    with pytest.raises(ProviderAuthError) as failure:
        await adapter(server, key="gsk_secret").verify()
    assert not failure.value.retryable
    assert "gsk_secret" not in str(failure.value)
    await adapter(server).verify()


async def test_a_slow_first_byte_times_out(server: FakeGroqServer) -> None:
    server.faults = GroqFaults(first_byte_delay_s=5)
    with pytest.raises(ProviderTimeout):
        await asyncio.wait_for(_all(adapter(server, read_timeout_s=0.2)), 3)


@pytest.mark.parametrize("fault", ["error", "malformed"])
async def test_a_broken_stream_raises_provider_error(server: FakeGroqServer, fault: str) -> None:
    if fault == "error":
        server.faults = GroqFaults(error_after_chunks=2)
    else:
        server.faults = GroqFaults(malformed_after_chunks=2)
    seen: list[LlmEvent] = []

    async def read() -> None:
        async for event in adapter(server).stream(PROMPT):
            seen.append(event)

    with pytest.raises(ProviderError) as failure:
        await read()
    assert len(seen) == 2
    assert failure.value.retryable
