"""One call's recognition stream on Deepgram: resampling, KeepAlive, and reconnection that
loses no words.

Audio is kept from the end of the last final result on: if the socket drops, a new one is
opened and that audio is sent again, so the words being spoken when it dropped are still
recognized (Deepgram only forgets audio it has already finalized).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from deepgram.listen.v1.socket_client import AsyncV1SocketClient
from deepgram.listen.v1.types.listen_v1error import ListenV1Error
from deepgram.listen.v1.types.listen_v1results import ListenV1Results
from deepgram.listen.v1.types.listen_v1speech_started import ListenV1SpeechStarted
from deepgram.listen.v1.types.listen_v1utterance_end import ListenV1UtteranceEnd

from voice_agent.adapters.audio.signal import StreamResampler
from voice_agent.adapters.deepgram.connection import DeepgramConnector
from voice_agent.adapters.deepgram.errors import PROVIDER, provider_error
from voice_agent.adapters.deepgram.settings import DeepgramSettings
from voice_agent.application.ports.errors import ProviderError, ProviderUnavailable
from voice_agent.application.ports.stt import (
    FinalTranscript,
    InterimTranscript,
    SpeechStarted,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.domain.audio import AudioChunk

log = logging.getLogger(__name__)
_END = object()
MAX_UNFINALIZED_S = 30.0
"""Audio kept for resending after a dropped socket is capped (memory over a long call)."""


class DeepgramSession:
    def __init__(self, connector: DeepgramConnector, settings: DeepgramSettings) -> None:
        self._connector = connector
        self._settings = settings
        self._events: asyncio.Queue[SttEvent | ProviderError | object] = asyncio.Queue()
        self._resampler: StreamResampler | None = None
        self._unfinalized: deque[tuple[float, bytes]] = deque()
        """(end time on the current socket, PCM) of audio not yet covered by a final."""
        self._sent_s = 0.0
        self._stack = AsyncExitStack()
        self._socket: AsyncV1SocketClient | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._last_send = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self.audio_seconds = 0.0
        """Audio sent for recognition (at the provider's rate), for usage accounting."""

    async def start(self) -> None:
        self._socket = await self._connector.connect(self._stack)
        self._connected.set()
        self._last_send = _now()
        self._tasks = [
            asyncio.create_task(self._receive(), name="deepgram-receive"),
            asyncio.create_task(self._keep_alive(), name="deepgram-keepalive"),
        ]

    async def push_audio(self, chunk: AudioChunk) -> None:
        if self._closing:
            return
        pcm = self._resample(chunk).pcm
        if not pcm:
            return
        seconds = len(pcm) / 2 / self._settings.sample_rate
        self.audio_seconds += seconds
        self._sent_s += seconds
        self._unfinalized.append((self._sent_s, pcm))
        while self._sent_s - self._unfinalized[0][0] > MAX_UNFINALIZED_S:
            self._unfinalized.popleft()  # long silence without finals: old audio is moot
        if not self._connected.is_set():
            return  # resent once reconnected
        await self._send(pcm)

    async def finalize(self) -> None:
        if self._socket is not None and self._connected.is_set():
            try:
                await self._socket.send_finalize()
            except Exception as exc:
                log.info("deepgram: finalize not sent (%s)", type(exc).__name__)

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._socket is not None and self._connected.is_set():
            try:
                await self._socket.send_close_stream()
                async with asyncio.timeout(self._settings.connect_timeout_s):
                    await asyncio.shield(self._tasks[0])
            except Exception as exc:
                log.info("deepgram: stream not closed cleanly (%s)", type(exc).__name__)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()
        self._events.put_nowait(_END)

    async def events(self) -> AsyncIterator[SttEvent]:
        while True:
            item = await self._events.get()
            if item is _END:
                self._events.put_nowait(_END)  # later readers end too
                return
            if isinstance(item, ProviderError):
                raise item
            yield item  # type: ignore[misc]

    def _resample(self, chunk: AudioChunk) -> AudioChunk:
        target = self._settings.sample_rate
        if chunk.sample_rate == target:
            return chunk
        if self._resampler is None or self._resampler.source_rate != chunk.sample_rate:
            self._resampler = StreamResampler(chunk.sample_rate, target)
        return self._resampler.push(chunk)

    async def _send(self, pcm: bytes) -> None:
        assert self._socket is not None
        try:
            await self._socket.send_media(pcm)
            self._last_send = _now()
        except Exception as exc:
            # The receive task notices the drop and reconnects; this audio is buffered.
            log.info("deepgram: audio not sent (%s)", type(exc).__name__)

    async def _keep_alive(self) -> None:
        interval = self._settings.keepalive_interval_s
        while True:
            await asyncio.sleep(interval - (_now() - self._last_send))
            if self._connected.is_set() and _now() - self._last_send >= interval * 0.99:
                assert self._socket is not None
                try:
                    await self._socket.send_keep_alive()
                    self._last_send = _now()
                except Exception as exc:
                    log.info("deepgram: keepalive not sent (%s)", type(exc).__name__)
                    self._last_send = _now()

    async def _receive(self) -> None:
        """Read results until the session closes or the socket cannot be reopened; either
        way the consumer hears of it (a failure is put on the event queue, never lost with
        this task)."""
        try:
            await self._receive_and_reconnect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("deepgram: receive loop failed")
            self._events.put_nowait(provider_error(exc))

    async def _receive_and_reconnect(self) -> None:
        while True:
            assert self._socket is not None
            try:
                while True:
                    self._handle(await self._socket.recv())
            except json.JSONDecodeError:
                log.warning("deepgram: malformed message skipped")
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closing:
                    return
                log.warning("deepgram: socket lost (%s); reconnecting", type(exc).__name__)
            if not await self._reconnect():
                return

    async def _reconnect(self) -> bool:
        """Open a new socket and resend the unfinalized audio on it; a socket that dies
        during the resend counts as a failed attempt. After `max_reconnects` failures (or
        one that retrying cannot fix) the failure goes to the consumer."""
        self._connected.clear()
        error: ProviderError = ProviderUnavailable(PROVIDER, "socket lost")
        for attempt in range(self._settings.max_reconnects):
            if attempt:
                await asyncio.sleep(min(0.05 * 2 ** (attempt - 1), 1.0))
            await self._stack.aclose()
            self._stack = AsyncExitStack()
            try:
                self._socket = await self._connector.connect(self._stack)
                await self._resend()
            except Exception as exc:
                error = provider_error(exc)
                log.warning("deepgram: reconnection %d failed (%s)", attempt + 1, error)
                if not error.retryable:
                    break
                continue
            self._connected.set()
            return True
        await self._stack.aclose()
        self._events.put_nowait(error)
        return False

    async def _resend(self) -> None:
        """Send the audio not yet finalized again, re-timed on the new socket, including
        audio pushed while this runs (sent in order, before the live audio resumes)."""
        assert self._socket is not None
        self._sent_s = 0.0
        retimed: deque[tuple[float, bytes]] = deque()
        for _, pcm in self._unfinalized:
            self._sent_s += len(pcm) / 2 / self._settings.sample_rate
            retimed.append((self._sent_s, pcm))
        self._unfinalized = retimed
        sent_until = -1.0
        while pending := [(end, pcm) for end, pcm in self._unfinalized if end > sent_until]:
            for end, pcm in pending:
                await self._socket.send_media(pcm)
                sent_until = end
        self._last_send = _now()

    def _handle(self, message: object) -> None:
        if isinstance(message, ListenV1Results):
            self._on_results(message)
        elif isinstance(message, ListenV1SpeechStarted):
            self._events.put_nowait(SpeechStarted())
        elif isinstance(message, ListenV1UtteranceEnd):
            self._events.put_nowait(UtteranceEnded())
        elif isinstance(message, ListenV1Error):
            log.warning("deepgram: error message %s", message.description)
        # Metadata, unknown types (the SDK yields None or a dict): nothing to do.

    def _on_results(self, results: ListenV1Results) -> None:
        alternatives = results.channel.alternatives
        text = alternatives[0].transcript.strip() if alternatives else ""
        if not results.is_final:
            if text:
                self._events.put_nowait(InterimTranscript(text))
            return
        end = results.start + results.duration
        while self._unfinalized and self._unfinalized[0][0] <= end + 1e-6:
            self._unfinalized.popleft()
        if text:
            confidence = alternatives[0].confidence
            self._events.put_nowait(
                FinalTranscript(
                    text, speech_final=bool(results.speech_final), confidence=confidence
                )
            )
        elif results.speech_final:
            # Endpointing fired after the words were already finalized: still an end hint.
            self._events.put_nowait(UtteranceEnded())


def _now() -> float:
    return asyncio.get_running_loop().time()
