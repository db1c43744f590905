"""Fallback chains: the first provider that produces output within the turn's budget
answers (the cloud stack chains Cartesia's websocket -> Cartesia's HTTP endpoint). Each link
is usually a `Resilient*` decorator, whose breaker makes a dead primary cost nothing.
When every link fails the last error is raised and the engine plays the canned apology."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Sequence
from typing import TypeVar

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.errors import ProviderError, ProviderTimeout
from voice_agent.application.ports.llm import (
    LanguageModel,
    LlmCapabilities,
    LlmEvent,
    ToolSpec,
)
from voice_agent.application.ports.stt import SpeechToText, SpeechToTextSession, SttCapabilities
from voice_agent.application.ports.tts import TextToSpeech, TtsCapabilities, TtsEvent
from voice_agent.application.resilience.replay import ReplayableText, over_replayable_text
from voice_agent.domain.history import ChatMessage

log = logging.getLogger(__name__)
E = TypeVar("E")


async def first_answering(
    openers: Sequence[Callable[[], AsyncIterator[E]]], clock: Clock, budget_s: float
) -> AsyncGenerator[E, None]:
    """Events of the first opener whose stream yields within what is left of `budget_s`."""
    deadline = clock.now() + budget_s
    error: ProviderError = ProviderTimeout("fallback", "latency budget spent")
    for open_stream in openers:
        remaining = deadline - clock.now()
        if remaining <= 0:
            break
        events = open_stream()
        try:
            async with asyncio.timeout(remaining):
                first = await anext(events)
        except StopAsyncIteration:
            return
        except (ProviderError, TimeoutError) as exc:
            await _close(events)
            error = exc if isinstance(exc, ProviderError) else ProviderTimeout("fallback", "slow")
            log.warning("fallback: %s; trying the next provider", error)
            continue
        except BaseException:
            await _close(events)
            raise
        try:
            yield first
            async for event in events:
                yield event
        finally:
            await _close(events)
        return
    raise error


class FallbackLanguageModel:
    def __init__(self, chain: Sequence[LanguageModel], clock: Clock, budget_s: float) -> None:
        if not chain:
            raise ValueError("a fallback chain needs at least one link")
        self._chain = list(chain)
        self._clock = clock
        self._budget_s = budget_s

    @property
    def capabilities(self) -> LlmCapabilities:
        return LlmCapabilities(tool_calls=all(m.capabilities.tool_calls for m in self._chain))

    def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[LlmEvent]:
        openers = [_llm_opener(m, messages, tools) for m in self._chain]
        return first_answering(openers, self._clock, self._budget_s)


class FallbackTextToSpeech:
    """The chain's links speak the same reply: a later link replays the phrases an earlier
    one had taken, then goes on with those still to come. The budget runs from the first
    text piece on. Capabilities are the primary's (the engine must cope with either)."""

    def __init__(self, chain: Sequence[TextToSpeech], clock: Clock, budget_s: float) -> None:
        if not chain:
            raise ValueError("a fallback chain needs at least one link")
        self._chain = list(chain)
        self._clock = clock
        self._budget_s = budget_s

    @property
    def capabilities(self) -> TtsCapabilities:
        return self._chain[0].capabilities

    async def synthesize(
        self, text: AsyncIterable[str], *, sample_rate: int
    ) -> AsyncIterator[TtsEvent]:
        def links(replayable: ReplayableText) -> AsyncGenerator[TtsEvent, None]:
            openers = [_tts_opener(t, replayable, sample_rate) for t in self._chain]
            return first_answering(openers, self._clock, self._budget_s)

        async with contextlib.aclosing(over_replayable_text(text, links)) as events:
            async for event in events:
                yield event


class FallbackSpeechToText:
    def __init__(self, chain: Sequence[SpeechToText]) -> None:
        if not chain:
            raise ValueError("a fallback chain needs at least one link")
        self._chain = list(chain)

    @property
    def capabilities(self) -> SttCapabilities:
        return self._chain[0].capabilities

    async def open_session(self) -> SpeechToTextSession:
        error: ProviderError | None = None
        for stt in self._chain:
            try:
                return await stt.open_session()
            except ProviderError as exc:
                log.warning("fallback: %s; trying the next recognizer", exc)
                error = exc
        assert error is not None
        raise error


def _llm_opener(
    model: LanguageModel, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
) -> Callable[[], AsyncIterator[LlmEvent]]:
    return lambda: model.stream(messages, tools)


def _tts_opener(
    tts: TextToSpeech, text: ReplayableText, sample_rate: int
) -> Callable[[], AsyncIterator[TtsEvent]]:
    return lambda: tts.synthesize(text.replay(), sample_rate=sample_rate)


async def _close(events: AsyncIterator[object]) -> None:
    closer = getattr(events, "aclose", None)
    if closer is not None:
        with contextlib.suppress(Exception):
            await closer()
