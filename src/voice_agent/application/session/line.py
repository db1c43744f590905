"""The caller's side of the line: pumps caller audio into voice detection and speech
recognition, and their results onto the session queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.stt import SpeechToText, SpeechToTextSession
from voice_agent.application.ports.transport import CallTransport
from voice_agent.application.ports.vad import VoiceActivityDetector, VoiceStarted
from voice_agent.application.session.inputs import (
    CallerHungUp,
    Dtmf,
    Input,
    SttFailed,
    SttInput,
    VoiceEndedAt,
    VoiceStartedAt,
)
from voice_agent.domain.audio import BYTES_PER_SAMPLE, AudioChunk

log = logging.getLogger(__name__)
KEPT_AUDIO_S = 8.0
"""The caller audio kept for an audio end-of-turn detector (Smart Turn hears the last 8 s)."""


class CallerLine:
    def __init__(
        self,
        transport: CallTransport,
        stt: SpeechToText,
        vad: VoiceActivityDetector,
        clock: Clock,
        inputs: asyncio.Queue[Input],
        *,
        keep_recent_audio: bool = False,
    ) -> None:
        """`keep_recent_audio`: keep the caller's last 8 s for `recent_audio` (only an audio
        end-of-turn detector needs them: 256 KB per call at 16 kHz, a copy of every frame)."""
        self._transport = transport
        self._stt = stt
        self._vad = vad.open_session(transport.input_sample_rate)
        self._clock = clock
        self._inputs = inputs
        self._session: SpeechToTextSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stt_task: asyncio.Task[None] | None = None
        self.voice_active = False
        self._voice_ended_at: float | None = None
        self._keep_recent = keep_recent_audio
        self._recent: deque[AudioChunk] = deque()
        self._recent_bytes = 0

    def recent_audio(self) -> AudioChunk | None:
        """The caller's last 8 s or more, up to the latest frame; None before any audio."""
        if not self._recent:
            return None
        return AudioChunk(b"".join(c.pcm for c in self._recent), self._recent[0].sample_rate)

    def silent_for(self) -> float:
        """Seconds since the caller's voice ended, as the voice detector placed the end;
        0.0 while the caller speaks or before they first spoke."""
        if self.voice_active or self._voice_ended_at is None:
            return 0.0
        return max(0.0, self._clock.now() - self._voice_ended_at)

    def _keep(self, frame: AudioChunk) -> None:
        self._recent.append(frame)
        self._recent_bytes += len(frame.pcm)
        limit = int(KEPT_AUDIO_S * frame.sample_rate) * BYTES_PER_SAMPLE
        while self._recent_bytes - len(self._recent[0].pcm) >= limit:
            self._recent_bytes -= len(self._recent.popleft().pcm)

    async def start(self) -> None:
        """Open the recognizer, then start listening. Raises if the recognizer fails."""
        self._session = await self._stt.open_session()
        self._stt_task = asyncio.create_task(self._pump_transcripts(self._session))
        self._tasks = [
            asyncio.create_task(self._pump_audio(), name="caller-audio"),
            asyncio.create_task(self._pump_signals(), name="caller-signals"),
        ]

    async def reopen_recognizer(self) -> None:
        old, self._session = self._session, None
        if self._stt_task is not None:
            self._stt_task.cancel()
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close()
        session = await self._stt.open_session()
        self._session = session
        self._stt_task = asyncio.create_task(self._pump_transcripts(session))

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._stt_task] if self._stt_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.finalize()
                await self._session.close()

    async def _pump_audio(self) -> None:
        async for frame in self._transport.audio_frames():
            now = self._clock.now()
            if self._keep_recent:
                self._keep(frame)
            for event in self._vad.push(frame):
                if isinstance(event, VoiceStarted):
                    self.voice_active = True
                    self._inputs.put_nowait(VoiceStartedAt(now - event.ago))
                else:
                    self.voice_active = False
                    self._voice_ended_at = now - event.ago
                    self._inputs.put_nowait(VoiceEndedAt(self._voice_ended_at))
            session = self._session
            if session is None:
                continue  # the recognizer is being reopened; voice detection goes on
            try:
                await session.push_audio(frame)
            except Exception as error:
                self._session = None
                self._inputs.put_nowait(SttFailed(error))
        self._inputs.put_nowait(CallerHungUp())

    async def _pump_transcripts(self, session: SpeechToTextSession) -> None:
        try:
            async for event in session.events():
                self._inputs.put_nowait(SttInput(event, self._clock.now()))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if self._session is session:
                self._session = None
                self._inputs.put_nowait(SttFailed(error))

    async def _pump_signals(self) -> None:
        async for event in self._transport.events():
            self._inputs.put_nowait(Dtmf(event.digit))
