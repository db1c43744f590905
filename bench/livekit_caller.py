"""The phone caller of `python -m bench livekit` on LiveKit: an ordinary participant in the
room (the `sip` part calls through the SIP service with `bench.sip_phone` instead)
publishing the caller's microphone at 48 kHz, as the SIP service does, and hearing the
agent's track."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from livekit import api, rtc

from bench.caller import Caller

CALLER_RATE = 48_000
MIC_QUEUE_MS = 10
"""Audio the SDK may hold for the microphone: the least it takes (its `AudioSource` hands
WebRTC 10 ms at a time), so a frame goes out as it is captured, as on the web phone's
WebSocket. With 40 ms, frames bunched by a late wake-up stayed queued for the rest of the
call: 20-50 ms more on the way in, on the LiveKit line only (`python -m bench livekit`)."""


class LiveKitServers(Protocol):
    """Where the server is and its key (`fake_servers.livekit_server.LiveKitServers` is one)."""

    @property
    def url(self) -> str: ...
    @property
    def ws_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def api_secret(self) -> str: ...


@dataclass(frozen=True)
class ServerAccess:
    url: str
    ws_url: str
    api_key: str
    api_secret: str


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


class LiveKitCaller(Caller):
    """`agent_track_at`: when the caller first saw the agent's track (published or
    subscribed), None until then."""

    def __init__(self, identity: str = "caller") -> None:
        super().__init__(CALLER_RATE)
        self.identity = identity
        self.room = rtc.Room()
        self.agent_track_at: float | None = None
        self._source = rtc.AudioSource(CALLER_RATE, 1, queue_size_ms=MIC_QUEUE_MS)

    async def join(self, servers: LiveKitServers, room: str) -> None:
        loop = asyncio.get_running_loop()

        def saw_agent_track(*_: object) -> None:
            if self.agent_track_at is None:
                self.agent_track_at = loop.time()

        @self.room.on("track_subscribed")
        def _on_track(track: rtc.Track, *_: object) -> None:
            saw_agent_track()
            stream = rtc.AudioStream.from_track(track=track, sample_rate=16000, num_channels=1)
            self.in_background(self._listen(stream))

        self.room.on("track_published", saw_agent_track)
        await self.room.connect(servers.ws_url, join_token(servers, room, self.identity))
        track = rtc.LocalAudioTrack.create_audio_track("phone", self._source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        self.start_microphone()

    async def send_frame(self, pcm: bytes) -> None:
        samples = len(pcm) // 2
        await self._source.capture_frame(rtc.AudioFrame(pcm, CALLER_RATE, 1, samples))

    async def _listen(self, stream: rtc.AudioStream) -> None:
        async for event in stream:
            await self.heard(np.frombuffer(event.frame.data, dtype=np.int16))

    async def leave(self) -> None:
        await self.stop_tasks()
        await self.room.disconnect()
