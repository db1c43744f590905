"""The narrow room a call needs (`CallRoom`), and `LiveKitRoom`, that room on the rtc SDK.

`LiveKitCallTransport` holds the call's logic (which participant is the caller, when the call
ends, transfers, DTMF pacing) and sees the room only through `CallRoom`: the tests drive it
with a scripted room, and `LiveKitRoom` keeps the real path (an `rtc.Room`, one published
`AudioSource`, `AudioStream.from_track` at the engine's rate) small enough to read at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from livekit import rtc
from livekit.rtc.participant import PublishTrackError

from voice_agent.domain.audio import AudioChunk

SOURCE_QUEUE_MS = 100
"""Agent audio the SDK may hold: small, so a barge-in's clear is near-instant."""
JOINS_AT_ONCE = 4
"""Rooms one process joins (connect and publish) at the same moment; a burst of dispatches
waits its turn within the answer timeout. Unbounded, 20 calls dispatched within 3 s on a
busy 2-core host timed out joins and track publications in the rtc SDK's runtime."""
_joins: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


_leaving: set[asyncio.Future[None]] = set()
"""Rooms being left after a cancelled join (kept referenced until done)."""


def join_gate() -> asyncio.Semaphore:
    """This event loop's bound on rooms being joined at once (`JOINS_AT_ONCE`)."""
    loop = asyncio.get_running_loop()
    gate = _joins.get(loop)
    if gate is None:
        gate = _joins[loop] = asyncio.Semaphore(JOINS_AT_ONCE)
    return gate


class ParticipantKind(Enum):
    SIP = "sip"
    """A phone call's leg, joined by the LiveKit SIP service."""
    STANDARD = "standard"
    """An ordinary client (a browser, an SDK; the real-server tests' caller)."""
    AGENT = "agent"
    OTHER = "other"
    """Ingress, egress, connectors: never the caller."""


@dataclass(frozen=True, slots=True)
class RoomParticipant:
    identity: str
    kind: ParticipantKind
    attributes: Mapping[str, str] = field(default_factory=dict)
    """For a SIP participant: `sip.callID`, `sip.phoneNumber`, `sip.callStatus`..."""


class RoomListener(Protocol):
    """What the room tells the call; called on the event loop, must not block."""

    def participant_joined(self, participant: RoomParticipant) -> None: ...

    def audio_track_ready(self, participant: RoomParticipant) -> None:
        """`participant`'s audio track is subscribed: `caller_audio` can read it now."""
        ...

    def participant_left(self, identity: str) -> None: ...

    def attributes_changed(self, participant: RoomParticipant) -> None:
        """`participant.attributes` are the new, complete attributes."""
        ...

    def dtmf_received(self, digit: str) -> None: ...

    def room_closed(self) -> None:
        """The agent is out of the room (disconnected, the room deleted)."""
        ...


class CallRoom(Protocol):
    @property
    def name(self) -> str: ...

    async def connect(self, listener: RoomListener) -> None:
        """Join the room and publish the agent's audio track (the SIP service answers the
        phone once that track is subscribed); then report the participants, and audio
        tracks, already there as if they had just arrived. Raises `ConnectionError`."""
        ...

    def caller_audio(self, identity: str) -> AsyncIterator[AudioChunk]:
        """`identity`'s subscribed audio at the engine's rate; ends when the track does."""
        ...

    async def capture(self, frame: AudioChunk) -> None:
        """One agent frame into the published track; waits while the track's small queue
        is full, so it paces the writer to real time."""
        ...

    def clear_queue(self) -> None:
        """Drop agent audio the track still holds (barge-in)."""
        ...

    async def publish_dtmf(self, code: int, digit: str) -> None:
        """One key press (RFC 4733 `code`) towards the phone side."""
        ...

    async def disconnect(self) -> None: ...


def participant_kind(kind: rtc.ParticipantKind.ValueType) -> ParticipantKind:
    kinds = {
        rtc.ParticipantKind.PARTICIPANT_KIND_SIP: ParticipantKind.SIP,
        rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD: ParticipantKind.STANDARD,
        rtc.ParticipantKind.PARTICIPANT_KIND_AGENT: ParticipantKind.AGENT,
    }
    return kinds.get(kind, ParticipantKind.OTHER)


def as_participant(participant: rtc.Participant) -> RoomParticipant:
    return RoomParticipant(
        participant.identity, participant_kind(participant.kind), participant.attributes
    )


class LiveKitRoom:
    """`CallRoom` on an `rtc.Room` joined with a job's `url` and `token`."""

    def __init__(
        self, url: str, token: str, *, sample_rate: int, room: rtc.Room | None = None
    ) -> None:
        self._url = url
        self._token = token
        self._rate = sample_rate
        self._room = room or rtc.Room()
        # The agent's source and track are made once the room is joined (as the SDK's
        # examples do): made before, a room deleted under the agent crashed the process.
        self._source: rtc.AudioSource | None = None
        self.agent_track: rtc.LocalAudioTrack | None = None
        """The agent's voice as published (`capture` feeds it)."""

    @property
    def name(self) -> str:
        return self._room.name

    async def connect(self, listener: RoomListener) -> None:
        room = self._room
        reporting = False  # events before the first report are left out: it includes them

        def on_joined(participant: rtc.RemoteParticipant) -> None:
            if reporting:
                listener.participant_joined(as_participant(participant))

        def on_left(participant: rtc.RemoteParticipant) -> None:
            if reporting:
                listener.participant_left(participant.identity)

        def on_track(track: rtc.Track, _: object, participant: rtc.RemoteParticipant) -> None:
            if reporting and track.kind == rtc.TrackKind.KIND_AUDIO:
                listener.audio_track_ready(as_participant(participant))

        def on_attributes(_: object, participant: rtc.Participant) -> None:
            if reporting:
                listener.attributes_changed(as_participant(participant))

        room.on("participant_connected", on_joined)
        room.on("participant_disconnected", on_left)
        room.on("track_subscribed", on_track)
        room.on("participant_attributes_changed", on_attributes)
        room.on("sip_dtmf_received", lambda dtmf: listener.dtmf_received(dtmf.digit))
        room.on("disconnected", lambda *_: listener.room_closed())
        async with join_gate():
            try:
                await self._connect_uncancelled()
            except rtc.ConnectError as error:
                raise ConnectionError(f"could not join the room: {error}") from None
            options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            try:
                await room.local_participant.publish_track(self.make_agent_track(), options)
            except PublishTrackError as error:
                raise ConnectionError(f"could not publish the agent's track: {error}") from None
        # Everyone first, then the tracks: the caller is chosen knowing who is in the room.
        reporting = True
        present = list(room.remote_participants.values())
        for participant in present:
            listener.participant_joined(as_participant(participant))
        for participant in present:
            for publication in participant.track_publications.values():
                if publication.track is not None:
                    on_track(publication.track, publication, participant)

    async def _connect_uncancelled(self) -> None:
        """`rtc.Room.connect`, never cancelled midway: the SDK's runtime panics (killing the
        process, every call in it) when a room it connected is not then told ready
        ("timed out waiting for ReadyForRoomEventRequest after ConnectCallback"), which is
        what a connect cancelled by the answer timeout did. A cancelled join lets the
        connect finish in the background, then leaves the room."""
        connecting = asyncio.ensure_future(self._room.connect(self._url, self._token))
        try:
            await asyncio.shield(connecting)
        except asyncio.CancelledError:
            connecting.add_done_callback(self._leave_once_connected)
            raise

    def _leave_once_connected(self, connecting: asyncio.Future[None]) -> None:
        if not connecting.cancelled() and connecting.exception() is None:
            task = asyncio.ensure_future(self.disconnect())
            _leaving.add(task)
            task.add_done_callback(_leaving.discard)

    async def caller_audio(self, identity: str) -> AsyncIterator[AudioChunk]:
        participant = self._room.remote_participants.get(identity)
        if participant is None:
            return
        track = next(
            (
                p.track
                for p in participant.track_publications.values()
                if p.track is not None and p.track.kind == rtc.TrackKind.KIND_AUDIO
            ),
            None,
        )
        if track is None:
            return
        stream = rtc.AudioStream.from_track(track=track, sample_rate=self._rate, num_channels=1)
        try:
            async for event in stream:
                yield AudioChunk(bytes(event.frame.data), event.frame.sample_rate)
        finally:
            await stream.aclose()

    def make_agent_track(self) -> rtc.LocalAudioTrack:
        """The agent's voice: a small-queue `AudioSource` and its track, made once (after
        joining the room, when `connect` publishes it; a test may make it without a room)."""
        if self._source is None or self.agent_track is None:
            self._source = rtc.AudioSource(self._rate, 1, queue_size_ms=SOURCE_QUEUE_MS)
            self.agent_track = rtc.LocalAudioTrack.create_audio_track("agent", self._source)
        return self.agent_track

    async def capture(self, frame: AudioChunk) -> None:
        if self._source is None:
            raise ConnectionError("not in the room yet")
        samples = len(frame.pcm) // 2
        await self._source.capture_frame(rtc.AudioFrame(frame.pcm, self._rate, 1, samples))

    def clear_queue(self) -> None:
        if self._source is not None:
            self._source.clear_queue()

    async def publish_dtmf(self, code: int, digit: str) -> None:
        await self._room.local_participant.publish_dtmf(code=code, digit=digit)

    async def disconnect(self) -> None:
        if self._source is not None:
            with contextlib.suppress(Exception):
                await self._source.aclose()
        with contextlib.suppress(Exception):
            await self._room.disconnect()
