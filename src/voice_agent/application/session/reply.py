"""One agent reply: language model -> phrases -> speech synthesis -> the caller's ear,
all streaming, cancellable at any point, and able to say what the caller actually heard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from voice_agent.application.phrases import PhraseAggregator, PhraseRules
from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.llm import (
    LanguageModel,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageReport,
)
from voice_agent.application.ports.transport import CallTransport
from voice_agent.application.ports.tts import SynthesizedAudio, SynthesizedSpan, TextToSpeech
from voice_agent.application.session.canned import CannedSpeech, Recording
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.heard_text import SpokenSpan, heard_text
from voice_agent.domain.history import ChatMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelRequest:
    messages: Sequence[ChatMessage]
    tools: Sequence[ToolSpec] = ()


@dataclass(slots=True)
class ReplyTimings:
    """Loop-clock instants; None until the stage happened."""

    llm_request_at: float | None = None
    first_token_at: float | None = None
    first_text_at: float | None = None
    first_audio_at: float | None = None


@dataclass(frozen=True, slots=True)
class StageFailure:
    stage: str
    """"llm" or "tts"."""
    error: Exception


@dataclass(slots=True)
class ReplyOutput:
    """What the reply produced so far; readable while it runs and after it is cancelled."""

    phrases: list[str] = field(default_factory=list)
    spans: list[SpokenSpan] = field(default_factory=list)
    audio_seconds: float = 0.0
    playout_origin: float | None = None
    """The transport's `played_seconds` when this reply's first sample was queued."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: UsageReport | None = None
    failures: list[StageFailure] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.phrases)

    def heard(self, played_seconds: float) -> str:
        """The text the caller heard, given the transport's `played_seconds` now."""
        if self.playout_origin is None:
            return ""
        # Without spans from the synthesizer, assume the text spreads evenly over the audio.
        spans = self.spans or [SpokenSpan(self.text, 0.0, self.audio_seconds)]
        return heard_text(spans, played_seconds - self.playout_origin)


ClosingLine = Callable[[Sequence[ToolCall]], str | None]


class AgentReply:
    """Runs one reply. `source` is a model request, or fixed phrases for canned lines.

    Provider failures never surface as silence: a model failure turns into the apology
    phrase, spoken by the same synthesis stream; a synthesis failure plays the pre-rendered
    apology audio. Failures are recorded in `output.failures` for the session to report.
    """

    def __init__(
        self,
        source: ModelRequest | Sequence[str],
        *,
        llm: LanguageModel,
        tts: TextToSpeech,
        transport: CallTransport,
        clock: Clock,
        canned: CannedSpeech,
        apology: str,
        rules: PhraseRules,
        closing_line: ClosingLine = lambda calls: None,
        on_first_audio: Callable[[], None] = lambda: None,
        audio_out: Callable[[AudioChunk], None] = lambda chunk: None,
    ) -> None:
        self._source = source
        self._llm = llm
        self._tts = tts
        self._transport = transport
        self._clock = clock
        self._canned = canned
        self._apology = apology
        self._rules = rules
        self._closing_line = closing_line
        self._on_first_audio = on_first_audio
        self._audio_out = audio_out
        """Told of every chunk just before the line gets it (the call's answer time)."""
        self.timings = ReplyTimings()
        self.output = ReplyOutput()
        self._phrases: asyncio.Queue[str | None] = asyncio.Queue()
        self._producer: asyncio.Task[None] | None = None

    def start_text(self) -> asyncio.Task[None]:
        """Start producing the text (the model) now, before the reply may speak: this is
        preemptive generation. The phrases wait in a buffer until `run` speaks them, all
        at once. Cancelling the returned task drops a reply that must never be spoken."""
        if self._producer is None:
            self._producer = asyncio.create_task(self._produce(self._phrases), name="reply-text")
        return self._producer

    async def run(self) -> None:
        producer = self.start_text()
        try:
            await self._speak(self._phrases)
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
        await self._transport.wait_played_out()

    # -- text ------------------------------------------------------------------------
    async def _produce(self, phrases: asyncio.Queue[str | None]) -> None:
        try:
            if isinstance(self._source, ModelRequest):
                await self._from_model(self._source, phrases)
            else:
                for phrase in self._source:
                    phrases.put_nowait(phrase)
        finally:
            phrases.put_nowait(None)

    async def _from_model(self, request: ModelRequest, phrases: asyncio.Queue[str | None]) -> None:
        aggregator = PhraseAggregator(self._rules)
        self.timings.llm_request_at = self._clock.now()
        sent_any = False
        try:
            async for event in self._llm.stream(request.messages, request.tools):
                if isinstance(event, TextDelta):
                    if self.timings.first_token_at is None:
                        self.timings.first_token_at = self._clock.now()
                    for phrase in aggregator.push(event.text):
                        phrases.put_nowait(phrase)
                        sent_any = True
                elif isinstance(event, ToolCall):
                    self.output.tool_calls.append(event)
                else:
                    self.output.usage = event
        except Exception as error:
            log.warning("language model failed mid-reply: %s", error)
            self.output.failures.append(StageFailure("llm", error))
            phrases.put_nowait(self._apology)
            return
        rest = aggregator.flush()
        for phrase in rest:
            phrases.put_nowait(phrase)
        if not (sent_any or rest):
            closing = self._closing_line(self.output.tool_calls)
            if closing:
                phrases.put_nowait(closing)

    # -- audio -----------------------------------------------------------------------
    async def _texts(self, phrases: asyncio.Queue[str | None]) -> AsyncIterator[str]:
        while (phrase := await phrases.get()) is not None:
            if self.timings.first_text_at is None:
                self.timings.first_text_at = self._clock.now()
            self.output.phrases.append(phrase)
            yield phrase + " "

    async def _speak(self, phrases: asyncio.Queue[str | None]) -> None:
        rate = self._transport.output_sample_rate
        recording = self._prerendered(rate)
        if recording is not None:
            self.timings.first_text_at = self._clock.now()
            await self._play_recording(recording)
            return
        try:
            async for event in self._tts.synthesize(self._texts(phrases), sample_rate=rate):
                if isinstance(event, SynthesizedAudio):
                    await self._play(event.chunk.duration, event)
                elif isinstance(event, SynthesizedSpan):
                    self.output.spans.append(SpokenSpan(event.text, event.start, event.end))
        except Exception as error:
            log.warning("speech synthesis failed mid-reply: %s", error)
            self.output.failures.append(StageFailure("tts", error))
            self.output.phrases = self._phrases_with_audio()
            await self._play_canned_apology(rate)

    async def _play(self, seconds: float, event: SynthesizedAudio) -> None:
        if self.output.playout_origin is None:
            self.output.playout_origin = self._transport.played_seconds
            self.timings.first_audio_at = self._clock.now()
            self._on_first_audio()
        self._audio_out(event.chunk)
        await self._transport.play(event.chunk)
        self.output.audio_seconds += seconds

    def _phrases_with_audio(self) -> list[str]:
        """After a synthesis failure: only text that became audio was said (a synthesizer
        may time words before it sends their audio, as Cartesia does)."""
        made = self.output.audio_seconds
        if made == 0:
            return []
        if self.output.spans:
            return [" ".join(span.text for span in self.output.spans if span.start < made)]
        return self.output.phrases

    def _prerendered(self, rate: int) -> Recording | None:
        """The audio of a canned line rendered earlier (the greeting), if it is one."""
        if isinstance(self._source, ModelRequest) or len(self._source) != 1:
            return None
        return self._canned.recording(self._source[0], rate)

    async def _play_recording(self, recording: Recording) -> None:
        """A canned line played from its recording, after whatever this reply already
        played; its words timed as when it was made (the whole line as one span if the
        synthesizer timed nothing)."""
        start = self.output.audio_seconds
        spans = recording.spans or [SpokenSpan(recording.text, 0.0, recording.duration)]
        self.output.phrases.append(recording.text)
        self.output.spans.extend(SpokenSpan(s.text, start + s.start, start + s.end) for s in spans)
        for chunk in recording.chunks:
            await self._play(chunk.duration, SynthesizedAudio(chunk))

    async def _play_canned_apology(self, rate: int) -> None:
        recording = self._canned.recording(self._apology, rate)
        if recording is None or not recording.chunks:
            log.error("no pre-rendered apology to play: the caller hears silence")
            return
        await self._play_recording(recording)
