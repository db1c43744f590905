"""`CartesiaTextToSpeech`: the `TextToSpeech` port on Cartesia.

Websocket mode (default): one context per reply, each phrase pushed with `continue=true`
as soon as it arrives, word timestamps passed on as `SynthesizedSpan`s, the context
cancelled when the reader stops early (barge-in). HTTP mode (`use_websocket=False`): each
phrase to `POST /tts/bytes`, audio streamed back, one span per phrase; the fallback path
when the websocket cannot be used.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from cartesia import AsyncCartesia

from voice_agent.adapters.audio.signal import StreamResampler
from voice_agent.adapters.cartesia.connection import SharedConnection
from voice_agent.adapters.cartesia.errors import provider_error
from voice_agent.adapters.cartesia.settings import CartesiaSettings
from voice_agent.adapters.cartesia.stream import ContextStream
from voice_agent.application.ports.tts import (
    SpanDetail,
    SynthesizedAudio,
    SynthesizedSpan,
    TtsCapabilities,
    TtsEvent,
)
from voice_agent.domain.audio import AudioChunk

NATIVE_RATES = frozenset({8000, 16000, 22050, 24000, 44100, 48000})


class CartesiaTextToSpeech:
    def __init__(self, settings: CartesiaSettings) -> None:
        self._settings = settings
        self._client = AsyncCartesia(
            api_key=settings.api_key,
            base_url=settings.base_url,
            websocket_base_url=settings.websocket_url,
            max_retries=0,
            timeout=settings.http_timeout_s,
        )
        self._connection = SharedConnection(self._client, settings.connect_timeout_s)

    @property
    def capabilities(self) -> TtsCapabilities:
        return TtsCapabilities(
            spans=SpanDetail.WORD if self._settings.use_websocket else SpanDetail.PHRASE
        )

    async def verify(self) -> None:
        """Open the websocket (or, in HTTP mode, synthesize one word): bad credentials fail
        here with `ProviderAuthError`, at start-up."""
        if self._settings.use_websocket:
            await self._connection.get()
        else:
            async for _ in self._http(_one("Hi."), 8000):
                pass

    async def aclose(self) -> None:
        await self._connection.aclose()
        await self._client.close()

    def synthesize(self, text: AsyncIterable[str], *, sample_rate: int) -> AsyncIterator[TtsEvent]:
        if self._settings.use_websocket:
            return self._websocket(text, sample_rate)
        return self._http(text, sample_rate)

    def _output_format(self, sample_rate: int) -> dict[str, Any]:
        rate = sample_rate if sample_rate in NATIVE_RATES else self._settings.fallback_rate
        return {"container": "raw", "encoding": "pcm_s16le", "sample_rate": rate}

    async def _websocket(self, text: AsyncIterable[str], rate: int) -> AsyncIterator[TtsEvent]:
        pieces = aiter(text)
        first = await _next_spoken(pieces)
        if first is None:
            return
        s = self._settings
        output = self._output_format(rate)
        conn = await self._connection.get()
        context = conn.context(
            f"reply-{uuid.uuid4().hex}",
            model_id=s.model_id,
            voice={"id": s.voice_id},
            output_format=output,
            language=s.language,
            add_timestamps=True,
        )
        stream = ContextStream(conn, context, first, pieces, stall_timeout_s=s.stall_timeout_s)
        events = stream.events()
        audio = _Audio(output["sample_rate"], rate)
        finished = False
        try:
            async for event in events:
                if event.type == "chunk" and event.audio:
                    chunk = audio.push(event.audio)
                    if chunk is not None:
                        yield SynthesizedAudio(chunk)
                elif event.type == "timestamps" and event.word_timestamps is not None:
                    stamps = event.word_timestamps
                    for word, start, end in zip(
                        stamps.words, stamps.start, stamps.end, strict=False
                    ):
                        yield SynthesizedSpan(word, start, end)
            tail = audio.flush()
            if tail is not None:
                yield SynthesizedAudio(tail)
            finished = True
        except Exception as exc:
            if stream.connection_lost:
                await self._connection.broken(conn)
            raise provider_error(exc) from None
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            await stream.stop(cancel_context=not finished)

    async def _http(self, text: AsyncIterable[str], rate: int) -> AsyncIterator[TtsEvent]:
        """One request per phrase, as each phrase arrives (no prosody across phrases, but
        the first audio does not wait for the whole reply)."""
        s = self._settings
        output = self._output_format(rate)
        elapsed = 0.0
        async for piece in text:
            phrase = piece.strip()
            if not phrase:
                continue
            audio = _Audio(output["sample_rate"], rate)
            start = elapsed
            try:
                async with self._client.tts.with_streaming_response.generate(
                    model_id=s.model_id,
                    transcript=phrase,
                    voice={"id": s.voice_id},
                    output_format=output,  # type: ignore[arg-type]
                    language=s.language,
                ) as response:
                    async for data in response.iter_bytes():
                        chunk = audio.push(data)
                        if chunk is not None:
                            elapsed += chunk.duration
                            yield SynthesizedAudio(chunk)
            except Exception as exc:
                raise provider_error(exc) from None
            tail = audio.flush()
            if tail is not None:
                elapsed += tail.duration
                yield SynthesizedAudio(tail)
            yield SynthesizedSpan(phrase, start, elapsed)


class _Audio:
    """Provider PCM bytes -> `AudioChunk`s at the requested rate (odd bytes carried over)."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self._resampler = StreamResampler(source_rate, target_rate)
        self._carry = b""

    def push(self, data: bytes) -> AudioChunk | None:
        data = self._carry + data
        even = len(data) - len(data) % 2
        self._carry = data[even:]
        if not even:
            return None
        chunk = self._resampler.push(AudioChunk(data[:even], self._resampler.source_rate))
        return chunk if chunk.pcm else None

    def flush(self) -> AudioChunk | None:
        if self._resampler.source_rate == self._resampler.target_rate:
            return None
        chunk = self._resampler.push(AudioChunk(b"", self._resampler.source_rate), last=True)
        return chunk if chunk.pcm else None


async def _next_spoken(pieces: AsyncIterator[str]) -> str | None:
    async for piece in pieces:
        if piece.strip():
            return piece
    return None


async def _one(text: str) -> AsyncIterator[str]:
    yield text
