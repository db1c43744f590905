"""The phone caller of `python -m bench livekit`: an ordinary participant in the room (the
SIP service cannot be built here, so no real SIP leg), with a microphone paced in real time
and a record of when the agent's audio arrived. Times are the event loop's clock, the same
clock the bench reads on the agent's side (one process)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
from fake_servers.livekit_server import LiveKitServers
from livekit import api, rtc

from bench.common import first_at_or_after

CALLER_RATE = 48_000
FRAME_S = 0.02
FRAME_SAMPLES = int(CALLER_RATE * FRAME_S)
LOUD_RMS = 500.0
"""Agent audio louder than this is speech; the transport sends digital silence between replies."""
MIC_QUEUE_MS = 40
"""Audio the SDK may hold for the microphone: small, so a frame's capture time is its send time."""


def join_token(servers: LiveKitServers, room: str, identity: str) -> str:
    return (
        api.AccessToken(servers.api_key, servers.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )


class RoomAdmin:
    """The server's API: rooms created, agents dispatched into them."""

    def __init__(self, servers: LiveKitServers) -> None:
        self._api = api.LiveKitAPI(servers.url, servers.api_key, servers.api_secret)

    async def create_room(self, room: str) -> None:
        await self._api.room.create_room(api.CreateRoomRequest(name=room))

    async def dispatch(self, room: str, agent_name: str) -> None:
        await self._api.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(room=room, agent_name=agent_name)
        )

    async def aclose(self) -> None:
        await self._api.aclose()


@dataclass
class Heard:
    """What the caller heard: when the agent's track appeared, and the arrival time of
    every loud agent frame."""

    agent_track_at: float | None = None
    loud_times: list[float] = field(default_factory=list)


class BenchCaller:
    """Joins, publishes a microphone that sends a 20 ms frame every 20 ms (a 440 Hz tone while
    speaking, digital silence otherwise) and listens to the agent."""

    def __init__(self, identity: str = "caller") -> None:
        self.identity = identity
        self.room = rtc.Room()
        self.heard = Heard()
        self._source = rtc.AudioSource(CALLER_RATE, 1, queue_size_ms=MIC_QUEUE_MS)
        self._speech_frames = 0
        self._speech_ended = asyncio.Event()
        self.speech_ended_at = 0.0
        self._heard_loud = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self, servers: LiveKitServers, room: str) -> None:
        loop = asyncio.get_running_loop()

        @self.room.on("track_published")
        def _on_published(*_: object) -> None:
            if self.heard.agent_track_at is None:
                self.heard.agent_track_at = loop.time()

        @self.room.on("track_subscribed")
        def _on_track(track: rtc.Track, *_: object) -> None:
            if self.heard.agent_track_at is None:
                self.heard.agent_track_at = loop.time()
            stream = rtc.AudioStream.from_track(track=track, sample_rate=16000, num_channels=1)
            self._tasks.append(asyncio.create_task(self._listen(stream)))

        await self.room.connect(servers.ws_url, join_token(servers, room, self.identity))
        track = rtc.LocalAudioTrack.create_audio_track("phone", self._source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        self._tasks.append(asyncio.create_task(self._microphone()))

    async def say(self, seconds: float) -> float:
        """Speak a tone for `seconds`; returns once the last frame is sent, with the loop time
        it was handed to the SDK (a microphone delivers a frame once it is recorded, so this
        is when the speech ended)."""
        self._speech_ended.clear()
        self._speech_frames = round(seconds / FRAME_S)
        await self._speech_ended.wait()
        return self.speech_ended_at

    async def first_loud_after(self, moment: float) -> float:
        """The arrival time of the first loud agent frame at or after `moment`."""
        async with self._heard_loud:
            await self._heard_loud.wait_for(lambda: self._loud_after(moment) is not None)
        found = self._loud_after(moment)
        assert found is not None
        return found

    async def quiet_for(self, seconds: float) -> None:
        """Wait until the agent has been silent for `seconds` (its reply has ended)."""
        loop = asyncio.get_running_loop()
        while True:
            last_loud = self.heard.loud_times[-1] if self.heard.loud_times else loop.time()
            left = seconds - (loop.time() - last_loud)
            if left <= 0 and self.heard.loud_times:
                return
            await asyncio.sleep(max(left, 0.02))

    def _loud_after(self, moment: float) -> float | None:
        return first_at_or_after(self.heard.loud_times, moment)

    async def _microphone(self) -> None:
        loop = asyncio.get_running_loop()
        tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(FRAME_SAMPLES) / CALLER_RATE)).astype(
            np.int16
        )
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        due = loop.time()
        while True:
            speaking = self._speech_frames > 0
            wave = tone if speaking else silence
            captured_at = loop.time()
            await self._source.capture_frame(
                rtc.AudioFrame(wave.tobytes(), CALLER_RATE, 1, FRAME_SAMPLES)
            )
            if speaking:
                self._speech_frames -= 1
                if self._speech_frames == 0:
                    self.speech_ended_at = captured_at
                    self._speech_ended.set()
            due += FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _listen(self, stream: rtc.AudioStream) -> None:
        loop = asyncio.get_running_loop()
        async for event in stream:
            samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            loud = bool(samples.size) and float(np.sqrt(np.mean(samples**2))) > LOUD_RMS
            if loud:
                self.heard.loud_times.append(loop.time())
                async with self._heard_loud:
                    self._heard_loud.notify_all()

    async def leave(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()
