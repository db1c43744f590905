"""Resilient versions of the three provider ports: the same interface, with the provider's
circuit breaker, retries (before the first output only) and the latency budget."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Sequence

from voice_agent.application.ports.errors import ProviderError
from voice_agent.application.ports.llm import LanguageModel, LlmCapabilities, LlmEvent, ToolSpec
from voice_agent.application.ports.stt import (
    SpeechToText,
    SpeechToTextSession,
    SttCapabilities,
    SttEvent,
)
from voice_agent.application.ports.tts import TextToSpeech, TtsCapabilities, TtsEvent
from voice_agent.application.resilience.breaker import CircuitBreaker
from voice_agent.application.resilience.guard import StageGuard
from voice_agent.application.resilience.replay import ReplayableText, over_replayable_text
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.history import ChatMessage


class ResilientLanguageModel:
    def __init__(self, inner: LanguageModel, guard: StageGuard) -> None:
        self._inner = inner
        self.guard = guard

    @property
    def capabilities(self) -> LlmCapabilities:
        return self._inner.capabilities

    def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[LlmEvent]:
        return self.guard.stream(lambda: self._inner.stream(messages, tools))


class ResilientTextToSpeech:
    """The budget runs from the first text piece on (waiting for the model's text is not
    the synthesizer's time). A retry speaks the whole reply: the phrases the failed attempt
    had taken, then those that arrive later (`ReplayableText`)."""

    def __init__(self, inner: TextToSpeech, guard: StageGuard) -> None:
        self._inner = inner
        self.guard = guard

    @property
    def capabilities(self) -> TtsCapabilities:
        return self._inner.capabilities

    async def synthesize(
        self, text: AsyncIterable[str], *, sample_rate: int
    ) -> AsyncIterator[TtsEvent]:
        def attempts(replayable: ReplayableText) -> AsyncGenerator[TtsEvent, None]:
            return self.guard.stream(
                lambda: self._inner.synthesize(replayable.replay(), sample_rate=sample_rate)
            )

        async with contextlib.aclosing(over_replayable_text(text, attempts)) as events:
            async for event in events:
                yield event


class ResilientSpeechToText:
    """Opening a session is retried; a session that fails later is the adapter's to repair
    (Deepgram's reconnects and resends the unfinalized audio). When it cannot, the failure
    counts against the provider's breaker, so the engine's reopen goes to the fallback."""

    def __init__(self, inner: SpeechToText, guard: StageGuard) -> None:
        self._inner = inner
        self.guard = guard

    @property
    def capabilities(self) -> SttCapabilities:
        return self._inner.capabilities

    async def open_session(self) -> SpeechToTextSession:
        session = await self.guard.call(self._inner.open_session)
        return _BreakerSession(session, self.guard.breaker)


class _BreakerSession:
    def __init__(self, inner: SpeechToTextSession, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self._breaker = breaker

    async def push_audio(self, chunk: AudioChunk) -> None:
        await self._inner.push_audio(chunk)

    async def finalize(self) -> None:
        await self._inner.finalize()

    async def close(self) -> None:
        await self._inner.close()

    async def events(self) -> AsyncIterator[SttEvent]:
        try:
            async for event in self._inner.events():
                yield event
        except ProviderError:
            self._breaker.record_failure()
            raise
