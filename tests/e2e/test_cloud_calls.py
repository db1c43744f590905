"""Whole calls through the real Deepgram, Groq and Cartesia adapters (on their SDKs)
against the local fake servers, on the wall clock, with faults injected in the servers.
In every case the caller hears a reply or the apology within the budget, and every turn
is stored."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from dependency_injector import providers
from fake_servers.cartesia import SECONDS_PER_WORD, CartesiaFaults
from fake_servers.cloud import FakeCloud
from fake_servers.deepgram import DeepgramFaults
from fake_servers.groq import GroqFaults, ScriptedCompletion

from voice_agent.adapters.audio.signal import rms
from voice_agent.adapters.memory_line.line import InMemoryCallTransport, LineRecord
from voice_agent.application.ports.errors import ProviderAuthError
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call, CallStatus
from voice_agent.domain.events import DomainEvent, ProviderFailed, UsageRecorded
from voice_agent.domain.turn import Role, Turn
from voice_agent.entrypoints.bootstrap.container import Container, memory_store, resolved, shut_down
from voice_agent.entrypoints.scripted.scenario import parse_scenario

APOLOGY = SessionConfig().prompts.apology
BUDGET_MS = 2500
"""Silence the caller may hear after speaking: endpointing + LLM budget + TTS first byte."""


@dataclass
class CloudCall:
    call: Call
    stored: Call | None
    events: list[DomainEvent]
    usage: UsageRecorded
    line: LineRecord
    recognizer_sockets: int
    """Deepgram sockets the call opened (not the key check at start-up)."""

    @property
    def agent_turns(self) -> list[Turn]:
        return [t for t in self.call.turns if t.role is Role.AGENT]

    @property
    def caller_turns(self) -> list[Turn]:
        return [t for t in self.call.turns if t.role is Role.CALLER]


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    async with FakeCloud() as fake:
        yield fake


def cloud_container(cloud: FakeCloud, **resilience: Any) -> Container:
    """The container on the cloud stack against the fake servers, calls at 8 kHz, kept in
    memory."""
    container = Container()
    container.settings.override(providers.Object(cloud.settings(**resilience)))
    container.call_store.override(providers.Resource(memory_store))
    container.sample_rate.override(providers.Object(8000))
    return container


async def run_call(cloud: FakeCloud, scenario: dict[str, Any], **resilience: Any) -> CloudCall:
    """One call on the container's cloud stack (against the fake servers), telephone rate.
    The faults a test set are for its call: the stack starts up (keys checked, apology
    rendered, Cartesia's websocket opened) on healthy servers."""
    parsed = parse_scenario({"settings": {"greeting": "Hi, how can I help?"}, **scenario})
    cloud.deepgram.transcripts.extend(parsed.script.transcripts)
    cloud.groq.replies.extend(ScriptedCompletion(r.text) for r in parsed.replies)
    container = cloud_container(cloud, **resilience)
    events: list[DomainEvent] = []
    transport = InMemoryCallTransport(
        parsed.script, input_sample_rate=8000, output_sample_rate=8000
    )
    faults = cloud.deepgram.faults, cloud.groq.faults, cloud.cartesia.faults
    cloud.deepgram.faults, cloud.groq.faults, cloud.cartesia.faults = (
        DeepgramFaults(),
        GroqFaults(),
        CartesiaFaults(),
    )
    try:
        store = await resolved(container.call_store())
        runner = await resolved(container.runner())
        cloud.deepgram.faults, cloud.groq.faults, cloud.cartesia.faults = faults
        sockets_at_start = len(cloud.deepgram.connections)
        call = await runner.run(transport, [events.append])
    finally:
        await shut_down(container)
    assert call is not None
    usage = next(e for e in events if isinstance(e, UsageRecorded))
    stored = await store.repository.get(call.id)
    sockets = len(cloud.deepgram.connections) - sockets_at_start
    return CloudCall(call, stored, events, usage, transport.record, sockets)


def assert_answered_within_budget(run: CloudCall, replies: list[str]) -> None:
    answers = run.agent_turns[1:]
    assert [t.text for t in answers] == replies
    for turn in answers:
        assert turn.latency.e2e_ms is not None
        assert turn.latency.e2e_ms < BUDGET_MS, turn.latency
    assert run.stored is not None
    assert [t.text for t in run.stored.turns] == [t.text for t in run.call.turns]


ONE_TURN = {
    "caller": [{"say": "Are you open on Sunday?"}, {"hang_up": True}],
    "agent": [{"reply": "Yes, from ten to four."}],
}


async def test_a_call_through_the_three_real_adapters(cloud: FakeCloud) -> None:
    run = await run_call(cloud, ONE_TURN)
    assert [t.text for t in run.caller_turns] == ["Are you open on Sunday?"]
    assert_answered_within_budget(run, ["Yes, from ten to four."])
    assert run.call.status is CallStatus.COMPLETED
    usage = {u.provider: u for u in run.usage.usage}
    assert usage["groq"].llm_prompt_tokens == 42
    assert usage["deepgram"].stt_audio_seconds > 1.0
    assert usage["cartesia"].tts_characters >= len("Yes, from ten to four.")
    assert run.usage.cost_usd > 0
    assert run.stored is not None
    assert run.stored.usage == run.usage.usage
    assert run.stored.cost_usd == run.usage.cost_usd
    assert cloud.groq.requests[0]["messages"][-1]["content"] == "Are you open on Sunday?"


async def test_a_burst_of_429s_is_retried_and_the_reply_comes(cloud: FakeCloud) -> None:
    cloud.groq.faults = GroqFaults(statuses=deque([429, 429]))
    run = await run_call(cloud, ONE_TURN, retry_initial_s=0.05, retry_jitter_s=0.02)
    assert_answered_within_budget(run, ["Yes, from ten to four."])
    assert len(cloud.groq.requests) == 3


async def test_a_model_down_gets_the_apology_and_the_call_goes_on(cloud: FakeCloud) -> None:
    cloud.groq.faults = GroqFaults(statuses=deque([500] * 3))
    run = await run_call(
        cloud,
        {
            "caller": [{"say": "Hello?"}, {"say": "Are you open?"}, {"hang_up": True}],
            "agent": [{"reply": "Yes we are."}],
        },
        retry_initial_s=0.05,
    )
    assert_answered_within_budget(run, [APOLOGY, "Yes we are."])
    assert run.call.status is CallStatus.COMPLETED


async def test_a_slow_first_token_beyond_the_budget_gets_the_apology(cloud: FakeCloud) -> None:
    cloud.groq.faults = GroqFaults(first_byte_delay_s=5)
    run = await run_call(cloud, ONE_TURN, llm_budget_s=1.0, llm_attempt_s=1.0)
    assert_answered_within_budget(run, [APOLOGY])


async def test_a_tts_error_mid_reply_is_followed_by_the_apology(cloud: FakeCloud) -> None:
    """Cartesia fails the reply after its first word: no link retries or replaces audio the
    caller already heard, so the pre-rendered apology follows that word."""
    cloud.cartesia.faults = CartesiaFaults(error_after_chunks=1, error_on_text="Yes, from ten")
    run = await run_call(cloud, ONE_TURN)
    [answer] = run.agent_turns[1:]
    assert answer.text == f"Yes, {APOLOGY}"  # what the caller heard, not what was timed
    assert answer.latency.e2e_ms is not None
    assert answer.latency.e2e_ms < BUDGET_MS
    greeting = run.agent_turns[0].text
    words_heard = len(greeting.split()) + 1 + len(APOLOGY.split())
    voiced_s = sum(chunk.duration for _, chunk in run.line.played if rms(chunk) > 0)
    assert voiced_s == pytest.approx(words_heard * SECONDS_PER_WORD, abs=0.05)
    assert [(e.stage, e.provider) for e in run.events if isinstance(e, ProviderFailed)] == [
        ("tts", "cartesia")
    ]
    assert not cloud.cartesia.bytes_requests
    assert run.stored is not None
    assert [t.text for t in run.stored.turns] == [t.text for t in run.call.turns]


async def test_a_tts_websocket_refused_falls_back_to_http_bytes(cloud: FakeCloud) -> None:
    """Cartesia's websocket drops during the call and refuses to reconnect."""
    cloud.cartesia.faults = CartesiaFaults(drop_after_chunks=0, reject_status=503, reject_count=100)
    run = await run_call(cloud, ONE_TURN, retry_attempts=1)
    assert_answered_within_budget(run, ["Yes, from ten to four."])
    assert cloud.cartesia.bytes_requests
    assert "cartesia-http" in {u.provider for u in run.usage.usage}


async def test_a_tts_fallback_after_the_first_audio_timeout_speaks_the_whole_reply(
    cloud: FakeCloud,
) -> None:
    """The model's text trickles in: its second and third sentences arrive after Cartesia's
    websocket missed its first-audio deadline and the HTTP fallback took over."""
    sentences = ["We open at nine.", "We close at five in the evening.", "See you then."]
    reply = " ".join(sentences)
    cloud.groq.faults = GroqFaults(chunk_delay_s=0.15)
    cloud.cartesia.faults = CartesiaFaults(first_chunk_delay_s=1.0)
    run = await run_call(
        cloud,
        {"caller": [{"say": "When are you open?"}, {"hang_up": True}], "agent": [{"reply": reply}]},
        tts_budget_s=1.0,
        tts_attempt_s=0.5,
        breaker_failures=100,
    )
    assert [t.text for t in run.agent_turns[1:]] == [reply]
    assert [r["transcript"] for r in cloud.cartesia.bytes_requests][-3:] == sentences
    spoken = " ".join(t.text for t in run.agent_turns)
    heard_s = len(spoken.split()) * SECONDS_PER_WORD
    voiced_s = sum(chunk.duration for _, chunk in run.line.played if rms(chunk) > 0)
    assert voiced_s == pytest.approx(heard_s, abs=0.05)


async def test_a_recognizer_socket_dropped_mid_utterance_loses_no_words(
    cloud: FakeCloud,
) -> None:
    cloud.deepgram.faults = DeepgramFaults(drop_after_audio_s=3.0, drops=1)
    run = await run_call(
        cloud,
        {
            "caller": [{"say": "I would like to book a table for two people"}, {"hang_up": True}],
            "agent": [{"reply": "Sure."}],
        },
    )
    assert [t.text for t in run.caller_turns] == ["I would like to book a table for two people"]
    assert_answered_within_budget(run, ["Sure."])
    assert run.recognizer_sockets == 2


async def test_malformed_and_unknown_messages_do_not_break_the_call(cloud: FakeCloud) -> None:
    cloud.deepgram.faults = DeepgramFaults(junk_messages=True)
    cloud.cartesia.faults = CartesiaFaults(unknown_messages=True)
    run = await run_call(cloud, ONE_TURN)
    assert_answered_within_budget(run, ["Yes, from ten to four."])


async def test_the_apology_is_rendered_once_per_process_not_once_per_call(
    cloud: FakeCloud,
) -> None:
    """Rendering it is a billed Cartesia request, and it raced each call's greeting."""
    container = cloud_container(cloud)
    try:
        runner = await resolved(container.runner())
        for _ in range(3):
            line = InMemoryCallTransport(
                parse_scenario({"caller": [{"hang_up": True}]}).script,
                input_sample_rate=8000,
                output_sample_rate=8000,
            )
            call = await runner.run(line)
            assert call is not None
            assert call.turns  # greeted
    finally:
        await shut_down(container)
    rendered = [r["transcript"] for c in cloud.cartesia.connections for r in c.requests]
    assert rendered.count(APOLOGY) == 1


async def test_bad_credentials_fail_at_start_up(cloud: FakeCloud) -> None:
    providers = cloud.providers()
    bad = dataclasses.replace(
        providers,
        groq=type(providers.groq)(
            dataclasses.replace(providers.groq._settings, api_key="gsk_wrong")
        ),
    )
    with pytest.raises(ProviderAuthError, match="groq"):
        await bad.verify()
    await providers.verify()
    await providers.aclose()
    await bad.aclose()
