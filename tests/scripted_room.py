"""A scripted LiveKit room (`CallRoom`) for `LiveKitCallTransport`: participants join, speak
frames in real time (on the loop's clock), press keys, change attributes and leave, and the
agent's side is recorded (frames captured with the loop time they play at, queue clears,
DTMF sent). Like the SDK's `AudioSource`, the room plays captured frames in real time one
after the other, and `clear_queue` drops those not yet played.
`ScriptedSipService` is the server's side of a transfer (SIP REFER): it succeeds, fails with
a mapped SIP status, or keeps ringing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from voice_agent.adapters.audio.signal import rms
from voice_agent.adapters.livekit.room import ParticipantKind, RoomListener, RoomParticipant
from voice_agent.application.ports.transport import TransferFailed
from voice_agent.domain.audio import AudioChunk, samples_for

_END = None


def sip_caller(number: str = "+15550100123", **attributes: str) -> RoomParticipant:
    """A phone caller as the LiveKit SIP service puts it in the room."""
    return RoomParticipant(
        f"sip_{number}",
        ParticipantKind.SIP,
        {
            "sip.callID": "SCL_aBcD1234",
            "sip.trunkID": "ST_trunk1",
            "sip.phoneNumber": number,
            "sip.callStatus": "active",
            **attributes,
        },
    )


def participant(identity: str, kind: ParticipantKind) -> RoomParticipant:
    return RoomParticipant(identity, kind, {})


@dataclass(slots=True)
class AgentSide:
    """What the room received from the agent."""

    captured: list[tuple[float, AudioChunk]] = field(default_factory=list)
    """Each frame with the loop time it plays at (queued frames play one after another)."""
    clears: int = 0
    dtmf: list[tuple[float, int, str]] = field(default_factory=list)
    disconnected: bool = False

    def heard_seconds(self) -> float:
        """Agent audio (not the silence between replies) that has played so far."""
        now = asyncio.get_running_loop().time()
        return sum(chunk.duration for at, chunk in self.captured if at <= now and rms(chunk))

    def queue(self, frame: AudioChunk) -> None:
        now = asyncio.get_running_loop().time()
        if self.captured:
            last_at, last = self.captured[-1]
            now = max(now, last_at + last.duration)
        self.captured.append((now, frame))

    def clear_queue(self) -> None:
        """Like the SDK's `clear_queue`: all that is not played yet goes, the rest of the
        frame playing included."""
        self.drop_unplayed()
        if self.captured:
            at, frame = self.captured[-1]
            played = samples_for(asyncio.get_running_loop().time() - at, frame.sample_rate)
            self.captured[-1] = (at, AudioChunk(frame.pcm[: played * 2], frame.sample_rate))
        self.clears += 1

    def drop_unplayed(self) -> None:
        now = asyncio.get_running_loop().time()
        self.captured = [(at, frame) for at, frame in self.captured if at <= now]


class ScriptedRoom:
    def __init__(
        self,
        name: str = "call-_+15550100123_aBcD",
        present: tuple[RoomParticipant, ...] = (),
        *,
        frame_s: float = 0.02,
        refuse_connect: bool = False,
    ) -> None:
        self._name = name
        self._present = {p.identity: p for p in present}
        self._with_audio = {p.identity for p in present}
        self._frame_s = frame_s
        self._refuse = refuse_connect
        self._listener: RoomListener | None = None
        self._audio: dict[str, asyncio.Queue[AudioChunk | None]] = {}
        self.agent = AgentSide()
        self.read_from: list[str] = []
        """Identities whose audio the agent asked for, in order."""

    # -- CallRoom ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    async def connect(self, listener: RoomListener) -> None:
        if self._refuse:
            raise ConnectionError("could not join the room: connection refused")
        self._listener = listener
        for someone in self._present.values():
            listener.participant_joined(someone)
        for someone in self._present.values():
            if someone.identity in self._with_audio:
                listener.audio_track_ready(someone)

    def caller_audio(self, identity: str) -> AsyncIterator[AudioChunk]:
        self.read_from.append(identity)
        return self._frames(identity)

    async def _frames(self, identity: str) -> AsyncIterator[AudioChunk]:
        queue = self._queue(identity)
        while (frame := await queue.get()) is not _END:
            yield frame

    async def capture(self, frame: AudioChunk) -> None:
        self.agent.queue(frame)

    def clear_queue(self) -> None:
        self.agent.clear_queue()

    async def publish_dtmf(self, code: int, digit: str) -> None:
        self.agent.dtmf.append((asyncio.get_running_loop().time(), code, digit))

    async def disconnect(self) -> None:
        self.agent.drop_unplayed()
        self.agent.disconnected = True

    # -- the script -------------------------------------------------------------------
    @property
    def listener(self) -> RoomListener:
        assert self._listener is not None, "the agent has not joined"
        return self._listener

    def join(self, someone: RoomParticipant, *, with_audio: bool = True) -> None:
        self._present[someone.identity] = someone
        self.listener.participant_joined(someone)
        if with_audio:
            self.listener.audio_track_ready(someone)

    async def speak(self, identity: str, audio: AudioChunk) -> None:
        """`identity` sends `audio` in real time, one frame every `frame_s`."""
        queue = self._queue(identity)
        for frame in audio.split(self._frame_s):
            queue.put_nowait(frame)
            await asyncio.sleep(frame.duration)

    def press(self, digit: str) -> None:
        self.listener.dtmf_received(digit)

    def set_attributes(self, identity: str, **attributes: str) -> None:
        """`sip_callStatus="hangup"` sets `sip.callStatus` (dots spelled `_` here)."""
        before = self._present[identity]
        merged = {**before.attributes, **{k.replace("_", "."): v for k, v in attributes.items()}}
        updated = RoomParticipant(identity, before.kind, merged)
        self._present[identity] = updated
        self.listener.attributes_changed(updated)

    def leave(self, identity: str) -> None:
        self._present.pop(identity, None)
        self._queue(identity).put_nowait(_END)
        self.listener.participant_left(identity)

    def close(self) -> None:
        self.listener.room_closed()

    def _queue(self, identity: str) -> asyncio.Queue[AudioChunk | None]:
        return self._audio.setdefault(identity, asyncio.Queue())


class ScriptedSipService:
    """The server's `TransferSIPParticipant`: `fail_with` raises, `ring_forever` never
    answers, otherwise the caller is handed over and leaves the room."""

    def __init__(
        self,
        room: ScriptedRoom,
        *,
        fail_with: TransferFailed | None = None,
        ring_forever: bool = False,
    ) -> None:
        self._room = room
        self._fail_with = fail_with
        self._ring_forever = ring_forever
        self.requests: list[tuple[float, str, str, str]] = []

    async def transfer_participant(self, room: str, identity: str, destination: str) -> None:
        self.requests.append((asyncio.get_running_loop().time(), room, identity, destination))
        if self._fail_with is not None:
            raise self._fail_with
        if self._ring_forever:
            await asyncio.Event().wait()
        await asyncio.sleep(1.0)  # ringing; then answered: the SIP leg leaves the room
        self._room.leave(identity)
