"""The resilience decorators on the scripted fakes, on a fast-forwarded clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Sequence

import pytest

from voice_agent.adapters.audio.signal import tone
from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.fakes.llm import FakeLlmSettings, ScriptedLanguageModel, ScriptedReply
from voice_agent.adapters.fakes.stt import FakeSttSettings, ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech, FakeTtsSettings
from voice_agent.adapters.resilience import BackoffRetry
from voice_agent.application.ports.errors import (
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from voice_agent.application.ports.llm import LanguageModel, LlmEvent, TextDelta
from voice_agent.application.ports.tts import SynthesizedAudio, SynthesizedSpan, TtsEvent
from voice_agent.application.resilience import (
    BreakerState,
    CircuitBreaker,
    FallbackLanguageModel,
    FallbackTextToSpeech,
    LatencyBudget,
    NoRetry,
    ResilientLanguageModel,
    ResilientSpeechToText,
    ResilientTextToSpeech,
    RetryPolicy,
    StageGuard,
)
from voice_agent.domain.history import ChatMessage, MessageRole

pytestmark = pytest.mark.looptime
PROMPT = [ChatMessage(MessageRole.USER, "Are you open?")]
FAIL_AT_ONCE = ScriptedReply("never", fail_after_tokens=0)


def guard(
    name: str,
    *,
    budget_s: float = 2.0,
    attempt_s: float | None = None,
    retry: RetryPolicy | None = None,
    threshold: int = 5,
) -> StageGuard:
    clock = LoopClock()
    return StageGuard(
        name,
        clock=clock,
        breaker=CircuitBreaker(name, clock, failure_threshold=threshold, reset_after_s=30),
        retry=retry or BackoffRetry(max_attempts=3, initial_s=0.1, jitter_s=0.05),
        budget=LatencyBudget(first_output_s=budget_s, attempt_s=attempt_s),
    )


def fake(*replies: ScriptedReply, ttft_s: float = 0.2) -> ScriptedLanguageModel:
    return ScriptedLanguageModel(
        replies,
        settings=FakeLlmSettings(ttft_s=ttft_s, tokens_per_second=100),
        default=ScriptedReply("Yes, we are open."),
    )


async def text_of(llm: LanguageModel) -> str:
    events: list[LlmEvent] = [e async for e in llm.stream(PROMPT)]
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_failures_before_the_first_token_are_retried() -> None:
    inner = fake(FAIL_AT_ONCE, FAIL_AT_ONCE)
    assert await text_of(ResilientLanguageModel(inner, guard("groq"))) == "Yes, we are open."
    assert len(inner.requests) == 3


async def test_a_failure_after_the_first_token_is_not_retried() -> None:
    inner = fake(ScriptedReply("Yes we are open", fail_after_tokens=2))
    llm = ResilientLanguageModel(inner, guard("groq"))
    with pytest.raises(ProviderUnavailable):
        await text_of(llm)
    assert len(inner.requests) == 1, "a retry would repeat words already spoken"


async def test_no_retry_that_would_not_fit_in_the_budget() -> None:
    inner = fake(FAIL_AT_ONCE, FAIL_AT_ONCE, ttft_s=0.95)
    llm = ResilientLanguageModel(inner, guard("groq", budget_s=1.0))
    clock = LoopClock()
    started = clock.now()
    with pytest.raises(ProviderError):
        await text_of(llm)
    assert clock.now() - started <= 1.0
    assert len(inner.requests) == 1


async def test_a_slow_first_token_times_out_at_the_attempt_limit() -> None:
    inner = fake(ScriptedReply("slow", ttft_s=5.0))
    llm = ResilientLanguageModel(inner, guard("groq", budget_s=3.0, attempt_s=1.0))
    clock = LoopClock()
    started = clock.now()
    assert await text_of(llm) == "Yes, we are open."
    # attempt limit + backoff (0.1 s + up to 0.05 s jitter) + the retry's first token
    # + streaming the reply's tokens at 100/s
    assert 1.0 + 0.1 + 0.2 <= clock.now() - started <= 1.0 + 0.15 + 0.2 + 0.06
    assert inner.cancelled == 1


async def test_budget_spent_raises_provider_timeout() -> None:
    llm = ResilientLanguageModel(fake(ttft_s=5.0), guard("groq", budget_s=1.0, retry=NoRetry()))
    with pytest.raises(ProviderTimeout):
        await text_of(llm)


async def test_an_open_circuit_skips_the_provider_and_the_fallback_answers_at_once() -> None:
    primary = fake(*[FAIL_AT_ONCE] * 10)
    primary_guard = guard("groq", retry=NoRetry(), threshold=2)
    chain = FallbackLanguageModel(
        [ResilientLanguageModel(primary, primary_guard), fake(ttft_s=0.1)],
        LoopClock(),
        budget_s=2.0,
    )
    for _ in range(3):
        assert await text_of(chain) == "Yes, we are open."
    assert primary_guard.breaker.state is BreakerState.OPEN
    assert len(primary.requests) == 2


async def test_a_slow_primary_gives_way_to_the_fallback_within_the_budget() -> None:
    primary = ResilientLanguageModel(fake(ttft_s=10), guard("groq", budget_s=1.0))
    chain = FallbackLanguageModel([primary, fake(ttft_s=0.3)], LoopClock(), budget_s=2.0)
    clock = LoopClock()
    started = clock.now()
    assert await text_of(chain) == "Yes, we are open."
    assert clock.now() - started == pytest.approx(1.3, abs=0.05)


async def test_when_every_provider_fails_the_last_error_is_raised() -> None:
    """The session then says the pre-rendered apology (tested with the scenarios)."""
    chain = FallbackLanguageModel([fake(FAIL_AT_ONCE)], LoopClock(), budget_s=2.0)
    with pytest.raises(ProviderUnavailable):
        await text_of(chain)


async def _pieces(*pieces: str) -> AsyncIterator[str]:
    for piece in pieces:
        yield piece


def spans_text(events: Sequence[object]) -> str:
    return " ".join(e.text for e in events if isinstance(e, SynthesizedSpan))


async def test_a_retried_synthesis_replays_the_phrases_already_taken() -> None:
    inner = FakeTextToSpeech(FakeTtsSettings(ttfb_s=0.05, fail_on_calls=[0]))
    tts = ResilientTextToSpeech(inner, guard("cartesia"))
    events = [e async for e in tts.synthesize(_pieces("Hello there. ", "Bye."), sample_rate=8000)]
    assert spans_text(events).split() == ["Hello", "there.", "Bye."]
    assert any(isinstance(e, SynthesizedAudio) for e in events)


async def test_the_tts_fallback_speaks_the_whole_reply() -> None:
    broken = FakeTextToSpeech(FakeTtsSettings(ttfb_s=0.05, fail_on_calls=[0]))
    backup = FakeTextToSpeech(FakeTtsSettings(ttfb_s=0.05))
    chain = FallbackTextToSpeech([broken, backup], LoopClock(), budget_s=1.0)
    events = [e async for e in chain.synthesize(_pieces("Hello there. ", "Bye."), sample_rate=8000)]
    assert spans_text(events).split() == ["Hello", "there.", "Bye."]


async def test_an_empty_chain_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FallbackTextToSpeech([], LoopClock(), budget_s=1.0)


async def test_a_probe_cancelled_before_its_first_token_lets_the_next_call_probe() -> None:
    primary_guard = guard("groq", retry=NoRetry(), threshold=1)
    primary_guard.breaker.record_failure()
    await LoopClock().sleep(30)
    llm = ResilientLanguageModel(fake(ttft_s=5), primary_guard)
    stream = llm.stream(PROMPT)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1):
            await anext(stream)
    assert primary_guard.breaker.allow(), "the cancelled probe must not block the circuit"


async def test_a_recognizer_session_that_dies_counts_against_its_breaker() -> None:
    stt_guard = guard("deepgram", threshold=1)
    stt = ResilientSpeechToText(
        ScriptedSpeechToText(["hi"], FakeSttSettings(fail_after_s=0.5)), stt_guard
    )
    session = await stt.open_session()
    await session.push_audio(tone(0.1, 16000))
    with pytest.raises(ProviderError):
        _ = [e async for e in session.events()]
    assert stt_guard.breaker.snapshot().state is BreakerState.OPEN
    await session.close()


class ReadAheadTextToSpeech:
    """Takes its text in a task of its own while audio is awaited, as websocket
    synthesizers do (Cartesia's sender), and cancels that task when it is closed."""

    def __init__(self, first_audio_s: Sequence[float]) -> None:
        self._first_audio_s = list(first_audio_s)
        self.requests: list[list[str]] = []
        self.capabilities = FakeTextToSpeech().capabilities

    async def synthesize(
        self, text: AsyncIterable[str], *, sample_rate: int
    ) -> AsyncIterator[TtsEvent]:
        taken: list[str] = []
        self.requests.append(taken)
        delay = self._first_audio_s[min(len(self.requests), len(self._first_audio_s)) - 1]

        async def send() -> None:
            async for piece in text:
                taken.append(piece)

        sender = asyncio.create_task(send())
        try:
            await asyncio.sleep(delay)
            while not sender.done() or taken:
                if taken:
                    piece = taken.pop(0)
                    yield SynthesizedSpan(piece.strip(), 0.0, 0.1)
                    yield SynthesizedAudio(tone(0.1, sample_rate))
                else:
                    await asyncio.wait({sender}, timeout=0.05)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)


REPLY = ("We open at nine. ", "We close at five. ", "See you soon.")


async def _trickling(*, gap_s: float) -> AsyncIterator[str]:
    """The model's phrases: the first at once, the others `gap_s` apart."""
    for n, phrase in enumerate(REPLY):
        if n:
            await asyncio.sleep(gap_s)
        yield phrase


async def test_a_retry_after_the_first_audio_timeout_speaks_text_that_came_later() -> None:
    inner = ReadAheadTextToSpeech(first_audio_s=[10.0, 0.1])
    tts = ResilientTextToSpeech(inner, guard("cartesia", budget_s=3.0, attempt_s=1.0))
    events = [e async for e in tts.synthesize(_trickling(gap_s=0.8), sample_rate=8000)]
    assert spans_text(events) == "We open at nine. We close at five. See you soon."


async def test_a_fallback_after_the_first_audio_timeout_speaks_the_whole_reply() -> None:
    slow = ResilientTextToSpeech(
        ReadAheadTextToSpeech(first_audio_s=[10.0]), guard("cartesia", budget_s=1.0)
    )
    backup = FakeTextToSpeech(FakeTtsSettings(ttfb_s=0.05))
    chain = FallbackTextToSpeech([slow, backup], LoopClock(), budget_s=2.0)
    events = [e async for e in chain.synthesize(_trickling(gap_s=1.5), sample_rate=8000)]
    assert spans_text(events).split() == " ".join(REPLY).split()
    assert backup.requests == [list(REPLY)]
