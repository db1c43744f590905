"""Usage metering as decorators on the provider ports: LLM tokens (from the model's
`UsageReport`), STT audio seconds (pushed audio) and TTS characters (text spoken), written
to one call's `UsageLedger` under the provider's name. Wrap each link of a fallback chain,
so the usage lands on the provider that did the work."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.llm import (
    LanguageModel,
    LlmCapabilities,
    LlmEvent,
    TextDelta,
    ToolSpec,
    UsageReport,
)
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.stt import (
    SpeechToText,
    SpeechToTextSession,
    SttCapabilities,
    SttEvent,
)
from voice_agent.application.ports.tts import TextToSpeech, TtsCapabilities, TtsEvent
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import Call
from voice_agent.domain.events import UsageRecorded
from voice_agent.domain.history import ChatMessage
from voice_agent.domain.usage import Prices, UsageLedger


class MeteredLanguageModel:
    def __init__(self, inner: LanguageModel, provider: str, ledger: UsageLedger) -> None:
        self._inner = inner
        self._provider = provider
        self._ledger = ledger

    @property
    def capabilities(self) -> LlmCapabilities:
        return self._inner.capabilities

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[LlmEvent]:
        """Providers report usage at the end of a stream. A stream closed before that (a
        barge-in, a preemptive reply dropped because the caller went on) was still billed:
        its usage is estimated at `CHARS_PER_TOKEN` from the prompt and the text produced.
        A stream that failed or was closed before its first event is not counted: a refused
        request is not billed, and nothing says whether an abandoned one was."""
        reported = False
        answered = False
        produced = 0
        try:
            async for event in self._inner.stream(messages, tools):
                if isinstance(event, UsageReport):
                    reported = True
                    self._ledger.add_llm(
                        self._provider, event.prompt_tokens, event.completion_tokens
                    )
                elif isinstance(event, TextDelta):
                    produced += len(event.text)
                answered = True
                yield event
        finally:
            if answered and not reported:
                prompt = sum(len(m.content) for m in messages)
                self._ledger.add_llm(
                    self._provider, _tokens(prompt), _tokens(produced) if produced else 0
                )


CHARS_PER_TOKEN = 4
"""English text averages about four characters per token in Llama-family tokenizers."""


def _tokens(characters: int) -> int:
    return max(1, -(-characters // CHARS_PER_TOKEN))


class MeteredTextToSpeech:
    """Counts the characters of the text pieces the synthesizer actually took."""

    def __init__(self, inner: TextToSpeech, provider: str, ledger: UsageLedger) -> None:
        self._inner = inner
        self._provider = provider
        self._ledger = ledger

    @property
    def capabilities(self) -> TtsCapabilities:
        return self._inner.capabilities

    def synthesize(self, text: AsyncIterable[str], *, sample_rate: int) -> AsyncIterator[TtsEvent]:
        return self._inner.synthesize(self._counted(text), sample_rate=sample_rate)

    async def _counted(self, text: AsyncIterable[str]) -> AsyncIterator[str]:
        async for piece in text:
            self._ledger.add_tts(self._provider, len(piece.strip()))
            yield piece


class MeteredSpeechToText:
    def __init__(self, inner: SpeechToText, provider: str, ledger: UsageLedger) -> None:
        self._inner = inner
        self._provider = provider
        self._ledger = ledger

    @property
    def capabilities(self) -> SttCapabilities:
        return self._inner.capabilities

    async def open_session(self) -> SpeechToTextSession:
        return _MeteredSession(await self._inner.open_session(), self._provider, self._ledger)


class _MeteredSession:
    def __init__(self, inner: SpeechToTextSession, provider: str, ledger: UsageLedger) -> None:
        self._inner = inner
        self._provider = provider
        self._ledger = ledger

    async def push_audio(self, chunk: AudioChunk) -> None:
        self._ledger.add_stt(self._provider, chunk.duration)
        await self._inner.push_audio(chunk)

    async def finalize(self) -> None:
        await self._inner.finalize()

    async def close(self) -> None:
        await self._inner.close()

    def events(self) -> AsyncIterator[SttEvent]:
        return self._inner.events()


async def record_usage(
    call: Call,
    ledger: UsageLedger,
    prices: dict[str, Prices],
    repository: CallRepository,
    clock: Clock,
) -> UsageRecorded:
    """Store the ended call's usage and cost with it; returns the event for the sinks."""
    event = usage_event(call.id, ledger, prices, clock)
    call.usage = event.usage
    call.cost_usd = event.cost_usd
    await repository.save_call(call)
    return event


def usage_event(
    call_id: str, ledger: UsageLedger, prices: dict[str, Prices], clock: Clock
) -> UsageRecorded:
    """The `UsageRecorded` event for a finished call (for the event sinks)."""
    return UsageRecorded(
        call_id,
        clock.wall().timestamp(),
        usage=ledger.by_provider(),
        cost_usd=round(ledger.cost(prices), 6),
    )
