"""`LiveKitCallTransport`: one phone call as a LiveKit room, the caller a SIP participant.

`open` joins the room with the job's token, publishes the agent's track, and waits (at most
`answer_timeout_s`) for the caller's audio track; the SIP service answers the phone (200 OK)
only once the agent publishes, so the caller hears ringing until then. Caller audio is read
from the moment its track is subscribed (no first words lost), resampled by the SDK to
`sample_rate`. Agent audio is paced by the same `PacedPlayout` as every line; between
replies the track carries silence, because the SIP service hangs up a call whose media stops.
DTMF arrives as the room's `sip_dtmf_received`. The caller leaving (or the room closing)
ends the audio stream. `hang_up` removes the caller from the room through the server's
RoomService (for a SIP participant that ends the phone call); `close` takes the agent out.

Not yet: DTMF out, transfers (`TransferSIPParticipant`); tested so far on the real server
with an ordinary participant as the caller, since the SIP service cannot be built here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from livekit import rtc

from voice_agent.adapters.audio.playout import PacedPlayout
from voice_agent.adapters.event_channel import EventChannel
from voice_agent.application.ports.transport import DtmfPressed, LineNotAnswered, TransportEvent
from voice_agent.domain.audio import AudioChunk

log = logging.getLogger(__name__)
RemoveParticipant = Callable[[str, str], Awaitable[None]]
"""Removes participant `identity` (second) from room `name` (first): RoomService's call."""
PHONE_NUMBER = "sip.phoneNumber"
SOURCE_QUEUE_MS = 100
"""Agent audio the SDK may hold: small, so a barge-in's clear is near-instant."""


class LiveKitCallTransport:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        sample_rate: int = 16000,
        frame_s: float = 0.02,
        answer_timeout_s: float = 20.0,
        room: rtc.Room | None = None,
        remove_participant: RemoveParticipant | None = None,
    ) -> None:
        self._url = url
        self._token = token
        self._rate = sample_rate
        self._frame_s = frame_s
        self._answer_timeout_s = answer_timeout_s
        self._room = room or rtc.Room()
        self._remove_participant = remove_participant
        self._source = rtc.AudioSource(sample_rate, 1, queue_size_ms=SOURCE_QUEUE_MS)
        self._outgoing: asyncio.Queue[AudioChunk] = asyncio.Queue()
        self._playout = PacedPlayout(sample_rate, self._outgoing.put_nowait, frame_s=frame_s)
        self._audio: EventChannel[AudioChunk] = EventChannel(max_items=500)
        self._events: EventChannel[TransportEvent] = EventChannel()
        self._caller: rtc.RemoteParticipant | None = None
        self._caller_track: asyncio.Future[rtc.Track] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ended = asyncio.Event()
        self._closed = False
        self.hung_up_by: str | None = None
        self.closed_for: str | None = None

    # -- call set-up -----------------------------------------------------------------
    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._caller_track = loop.create_future()
        self._room.on("track_subscribed", self._on_track)
        self._room.on("participant_disconnected", self._on_left)
        self._room.on("disconnected", lambda *_: self._end("caller"))
        self._room.on("sip_dtmf_received", self._on_dtmf)
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                await self._room.connect(self._url, self._token)
                track = rtc.LocalAudioTrack.create_audio_track("agent", self._source)
                options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
                await self._room.local_participant.publish_track(track, options)
                self._tasks.append(asyncio.create_task(self._write(), name="livekit-writer"))
                self._adopt_tracks_already_there()
                caller_track = await self._caller_track
        except TimeoutError:
            raise LineNotAnswered(f"no caller audio within {self._answer_timeout_s:g} s") from None
        except rtc.ConnectError as error:
            raise LineNotAnswered(f"could not join the room: {error}") from None
        stream = rtc.AudioStream.from_track(
            track=caller_track, sample_rate=self._rate, num_channels=1
        )
        self._tasks.append(asyncio.create_task(self._read(stream), name="livekit-reader"))

    async def close(self, reason: str, message: str | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        self.closed_for = reason
        self._end(self.hung_up_by or "agent")
        await self._playout.aclose()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._source.aclose()
        with contextlib.suppress(Exception):
            await self._room.disconnect()

    # -- CallTransport ---------------------------------------------------------------
    @property
    def caller_number(self) -> str | None:
        if self._caller is None:
            return None
        return self._caller.attributes.get(PHONE_NUMBER) or None

    @property
    def input_sample_rate(self) -> int:
        return self._rate

    @property
    def output_sample_rate(self) -> int:
        return self._rate

    @property
    def played_seconds(self) -> float:
        return self._playout.played_seconds

    def audio_frames(self) -> AsyncIterator[AudioChunk]:
        return self._audio.stream()

    def events(self) -> AsyncIterator[TransportEvent]:
        return self._events.stream()

    async def play(self, chunk: AudioChunk) -> None:
        if not self._ended.is_set():
            self._playout.play(chunk)

    async def clear_audio(self) -> None:
        self._playout.clear()
        while not self._outgoing.empty():
            self._outgoing.get_nowait()
        self._source.clear_queue()

    async def wait_played_out(self) -> None:
        await self._playout.wait_played_out()

    async def hang_up(self) -> None:
        """End the call: the caller is removed from the room (the SIP leg hangs up)."""
        self._end("agent")
        if self._caller is None or self._remove_participant is None:
            return
        try:
            await self._remove_participant(self._room.name, self._caller.identity)
        except Exception as error:  # the caller may have left meanwhile
            log.info("could not remove the caller from room %s: %s", self._room.name, error)

    async def transfer(self, destination: str) -> None:
        raise NotImplementedError("transfers need the SIP API: not wired yet")

    # -- the room --------------------------------------------------------------------
    def _adopt_tracks_already_there(self) -> None:
        for participant in self._room.remote_participants.values():
            for publication in participant.track_publications.values():
                if publication.track is not None:
                    self._on_track(publication.track, publication, participant)

    def _on_track(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO or self._caller is not None:
            return
        if self._caller_track is None or self._caller_track.done():
            return
        self._caller = participant
        self._caller_track.set_result(track)

    def _on_left(self, participant: rtc.RemoteParticipant) -> None:
        if self._caller is not None and participant.identity == self._caller.identity:
            self._end("caller")

    def _on_dtmf(self, dtmf: Any) -> None:
        digit = getattr(dtmf, "digit", "")
        if digit:
            self._events.put(DtmfPressed(digit))

    async def _read(self, stream: rtc.AudioStream) -> None:
        try:
            async for event in stream:
                frame = event.frame
                self._audio.put(AudioChunk(bytes(frame.data), frame.sample_rate))
        finally:
            await stream.aclose()
            self._end("caller")

    async def _write(self) -> None:
        """Agent frames as the playout paces them, silence when it has none."""
        silence = AudioChunk.silence(self._frame_s, self._rate)
        while True:
            try:
                chunk = await asyncio.wait_for(self._outgoing.get(), self._frame_s * 1.5)
            except TimeoutError:
                chunk = silence
            samples = len(chunk.pcm) // 2
            await self._source.capture_frame(rtc.AudioFrame(chunk.pcm, self._rate, 1, samples))

    def _end(self, by: str) -> None:
        if self._ended.is_set():
            return
        self.hung_up_by = by
        self._ended.set()
        self._playout.halt()
        self._audio.close()
        self._events.close()
