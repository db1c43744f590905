"""`LiveKitCallTransport` on the real LiveKit server (loopback): a caller participant publishes
and hears audio through the server while the transport is the agent's side of the call."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import numpy as np
import pytest
from bench.livekit_caller import join_token
from livekit import api, rtc

from tests.livekit_servers import LiveKitServers
from voice_agent.adapters.audio.signal import rms, tone
from voice_agent.adapters.livekit import LiveKitCallTransport, LiveKitControl, LiveKitSettings
from voice_agent.application.ports.transport import LineNotAnswered

pytestmark = pytest.mark.slow

CALLER_RATE = 48_000
FRAME = CALLER_RATE // 100


class Caller:
    """A participant in the room playing the phone caller: speaks a tone, hears the agent."""

    def __init__(self) -> None:
        self.room = rtc.Room()
        self.source = rtc.AudioSource(CALLER_RATE, 1, queue_size_ms=200)
        self.heard_loud_s = 0.0
        self._heard = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self, servers: LiveKitServers, room: str) -> None:
        @self.room.on("track_subscribed")
        def _on_track(track: rtc.Track, *_: object) -> None:
            stream = rtc.AudioStream.from_track(track=track, sample_rate=16000, num_channels=1)
            self._tasks.append(asyncio.create_task(self._listen(stream)))

        await self.room.connect(servers.ws_url, join_token(servers, room, "caller"))
        track = rtc.LocalAudioTrack.create_audio_track("phone", self.source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)

    def speak(self, seconds: float) -> None:
        self._tasks.append(asyncio.create_task(self._speak(seconds)))

    async def _speak(self, seconds: float) -> None:
        wave = (8000 * np.sin(2 * np.pi * 440 * np.arange(FRAME) / CALLER_RATE)).astype(np.int16)
        for _ in range(int(seconds * 100)):
            await self.source.capture_frame(rtc.AudioFrame(wave.tobytes(), CALLER_RATE, 1, FRAME))

    async def _listen(self, stream: rtc.AudioStream) -> None:
        async for event in stream:
            samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            if samples.size and np.sqrt(np.mean(samples**2)) > 500:
                self.heard_loud_s += event.frame.samples_per_channel / event.frame.sample_rate
                async with self._heard:
                    self._heard.notify_all()

    async def wait_heard(self, seconds: float) -> None:
        async with self._heard:
            await self._heard.wait_for(lambda: self.heard_loud_s >= seconds)

    async def leave(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()


@pytest.fixture
async def call(
    livekit_servers: LiveKitServers,
) -> AsyncIterator[tuple[LiveKitCallTransport, Caller]]:
    room = f"call-{secrets.token_hex(4)}"
    caller = Caller()
    await caller.join(livekit_servers, room)
    transport = LiveKitCallTransport(
        livekit_servers.ws_url, join_token(livekit_servers, room, "agent"), answer_timeout_s=10
    )
    await transport.open()
    yield transport, caller
    await transport.close("ended")
    await caller.leave()


async def test_the_callers_voice_reaches_the_engine_at_its_rate(
    call: tuple[LiveKitCallTransport, Caller],
) -> None:
    transport, caller = call
    caller.speak(1.0)
    loud = 0.0
    async with asyncio.timeout(10):
        async for frame in transport.audio_frames():
            assert frame.sample_rate == 16000
            if rms(frame) > 500:
                loud += frame.duration
            if loud >= 0.5:
                break
    assert loud >= 0.5


async def test_the_agents_voice_reaches_the_caller_and_is_counted_as_played(
    call: tuple[LiveKitCallTransport, Caller],
) -> None:
    transport, caller = call
    await transport.play(tone(1.0, 16000))
    await asyncio.wait_for(transport.wait_played_out(), 5)
    assert transport.played_seconds == pytest.approx(1.0, abs=0.03)
    await asyncio.wait_for(caller.wait_heard(0.8), 5)


async def test_the_caller_leaving_ends_the_audio_stream(
    call: tuple[LiveKitCallTransport, Caller], livekit_api: api.LiveKitAPI
) -> None:
    """The server takes the caller out of the room, as it does when the SIP service ends
    the phone's leg. (The caller's own `rtc.Room.disconnect` was used before: once in CI
    the agent did not hear of it within 10 s, as when the SDK's leave request does not
    reach the server, which then keeps a participant whose signalling closed until its media
    times out: `HandleSignalSourceClose` in livekit-server.)"""
    transport, caller = call
    frames = transport.audio_frames()
    await livekit_api.room.remove_participant(
        api.RoomParticipantIdentity(room=caller.room.name, identity="caller")
    )
    async with asyncio.timeout(10):
        async for _ in frames:
            pass
    assert transport.hung_up_by == "caller"


async def test_hanging_up_removes_the_caller_from_the_room(
    livekit_servers: LiveKitServers,
) -> None:
    room = f"call-{secrets.token_hex(4)}"
    caller = Caller()
    await caller.join(livekit_servers, room)
    left = asyncio.Event()
    caller.room.on("disconnected", lambda *_: left.set())
    rooms = LiveKitControl(
        LiveKitSettings(livekit_servers.ws_url, livekit_servers.api_key, livekit_servers.api_secret)
    )
    transport = LiveKitCallTransport(
        livekit_servers.ws_url,
        join_token(livekit_servers, room, "agent"),
        remove_participant=rooms.remove_participant,
    )
    try:
        await transport.open()
        await transport.hang_up()
        await asyncio.wait_for(left.wait(), 10)
        assert transport.hung_up_by == "agent"
    finally:
        await transport.close("completed")
        await rooms.aclose()
        await caller.leave()


async def test_no_caller_in_the_room_is_a_line_not_answered(
    livekit_servers: LiveKitServers,
) -> None:
    room = f"empty-{secrets.token_hex(4)}"
    transport = LiveKitCallTransport(
        livekit_servers.ws_url, join_token(livekit_servers, room, "agent"), answer_timeout_s=1
    )
    with pytest.raises(LineNotAnswered, match="no caller audio within 1 s"):
        await transport.open()
    await transport.close("not_answered")
