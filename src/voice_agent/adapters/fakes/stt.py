"""A scripted speech recognizer: it hears real audio (by energy) and "recognizes" each
utterance as the next transcript of its script, with streaming timing like Deepgram's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

from voice_agent.adapters.audio.signal import rms
from voice_agent.adapters.event_channel import EventChannel
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.ports.stt import (
    FinalTranscript,
    InterimTranscript,
    SpeechStarted,
    SttCapabilities,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.domain.audio import AudioChunk


@dataclass(frozen=True, slots=True)
class FakeSttSettings:
    final_latency_s: float = 0.15
    """Caller falls silent -> final transcript (endpointing plus recognition)."""
    pause_guess_latency_s: float | None = None
    """Caller falls silent -> the whole transcript as an interim marked `at_pause` (as
    Whisper's guess at a pause, before its final); withdrawn if the caller goes on. None:
    never (Deepgram's behaviour)."""
    speech_started_latency_s: float = 0.05
    interim_interval_s: float = 0.2
    words_per_second: float = 3.0
    """How fast interim results reveal the words of the current utterance."""
    threshold_rms: float = 500.0
    fail_on_open: bool = False
    fail_after_s: float | None = None
    """Break the first session's event stream this long after it opens (a dropped socket);
    sessions opened afterwards (the reconnect) work."""


class ScriptedSpeechToText:
    """Each burst of caller audio is recognized as the next transcript in `transcripts`
    (an empty string models a cough: speech heard, no words). After the script runs out,
    bursts are recognized as "" ."""

    def __init__(
        self, transcripts: Sequence[str] = (), settings: FakeSttSettings | None = None
    ) -> None:
        self.settings = settings or FakeSttSettings()
        self._transcripts: Iterator[str] = iter(list(transcripts))
        self.audio_seconds = 0.0
        self.sessions_opened = 0

    @property
    def capabilities(self) -> SttCapabilities:
        return SttCapabilities()

    async def open_session(self) -> ScriptedSttSession:
        if self.settings.fail_on_open:
            raise ProviderUnavailable("fake-stt", "refused to open a stream")
        self.sessions_opened += 1
        return ScriptedSttSession(self)

    def next_transcript(self) -> str:
        return next(self._transcripts, "")


class ScriptedSttSession:
    def __init__(self, owner: ScriptedSpeechToText) -> None:
        self._owner = owner
        self._settings = owner.settings
        self._events: EventChannel[SttEvent] = EventChannel()
        self._loop = asyncio.get_running_loop()
        self._in_speech = False
        self._current: str | None = None
        self._speech_seconds = 0.0
        self._revealed = 0
        self._pending_final: asyncio.TimerHandle | None = None
        self._pending_guess: asyncio.TimerHandle | None = None
        self._guessed = False
        self._interim_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._failure: asyncio.TimerHandle | None = None
        if self._settings.fail_after_s is not None and owner.sessions_opened == 1:
            self._failure = self._loop.call_later(self._settings.fail_after_s, self._fail)

    async def push_audio(self, chunk: AudioChunk) -> None:
        if self._closed:
            raise ProviderUnavailable("fake-stt", "push_audio on a closed session")
        self._owner.audio_seconds += chunk.duration
        loud = rms(chunk) >= self._settings.threshold_rms
        if loud:
            self._on_voice(chunk.duration)
        elif self._in_speech:
            self._in_speech = False
            self._pending_final = self._loop.call_later(
                self._settings.final_latency_s, self._emit_final
            )
            guess_latency = self._settings.pause_guess_latency_s
            if guess_latency is not None and guess_latency < self._settings.final_latency_s:
                self._pending_guess = self._loop.call_later(guess_latency, self._emit_guess)

    async def finalize(self) -> None:
        if self._current is not None:
            self._emit_final()

    async def close(self) -> None:
        self._closed = True
        for handle in (
            self._pending_final,
            self._pending_guess,
            self._interim_timer,
            self._failure,
        ):
            if handle is not None:
                handle.cancel()
        self._events.close()

    def events(self) -> AsyncIterator[SttEvent]:
        return self._events.stream()

    def _on_voice(self, seconds: float) -> None:
        if self._pending_final is not None:  # the caller went on: same utterance
            self._pending_final.cancel()
            self._pending_final = None
            self._withdraw_guess()
        if self._current is None:
            self._current = self._owner.next_transcript()
            self._speech_seconds = 0.0
            self._revealed = 0
            self._loop.call_later(
                self._settings.speech_started_latency_s, self._events.put, SpeechStarted()
            )
            self._schedule_interim()
        self._in_speech = True
        self._speech_seconds += seconds

    def _schedule_interim(self) -> None:
        self._interim_timer = self._loop.call_later(
            self._settings.interim_interval_s, self._emit_interim
        )

    def _emit_interim(self) -> None:
        if self._current is None:
            return
        words = self._current.split()
        visible = min(len(words), int(self._speech_seconds * self._settings.words_per_second))
        if visible > self._revealed:
            self._revealed = visible
            self._events.put(InterimTranscript(" ".join(words[:visible])))
        self._schedule_interim()

    def _emit_guess(self) -> None:
        self._pending_guess = None
        if self._current:
            self._guessed = True
            self._events.put(InterimTranscript(self._current, at_pause=True))

    def _cancel_guess(self) -> bool:
        """Forget this pause's guess; whether it had been published."""
        if self._pending_guess is not None:
            self._pending_guess.cancel()
            self._pending_guess = None
        published, self._guessed = self._guessed, False
        return published

    def _withdraw_guess(self) -> None:
        if self._cancel_guess() and self._current:
            self._events.put(InterimTranscript(self._current))  # no longer at a pause

    def _emit_final(self) -> None:
        self._cancel_guess()  # the final replaces it (or came before it was due)
        if self._current is None:
            return
        if self._interim_timer is not None:
            self._interim_timer.cancel()
        self._events.put(FinalTranscript(self._current, speech_final=True))
        self._events.put(UtteranceEnded())
        self._current = None
        self._pending_final = None

    def _fail(self) -> None:
        self._events.fail(ProviderUnavailable("fake-stt", "stream dropped"))
