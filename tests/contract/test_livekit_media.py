"""The media path of `LiveKitRoom` on the real rtc SDK, without a server: agent frames
captured into the published track come out of an `AudioStream` on that track at the
engine's rate, level and timing kept (the loopback the SDK offers offline)."""

from __future__ import annotations

import asyncio

import pytest
from livekit import rtc

from voice_agent.adapters.audio.signal import rms, tone
from voice_agent.adapters.livekit.room import LiveKitRoom
from voice_agent.domain.audio import AudioChunk

FRAME_S = 0.02


async def heard_through_the_track(room: LiveKitRoom, rate: int, seconds: float) -> list[AudioChunk]:
    stream = rtc.AudioStream.from_track(track=room.agent_track, sample_rate=rate, num_channels=1)
    heard: list[AudioChunk] = []
    try:
        async with asyncio.timeout(10):
            async for event in stream:
                heard.append(AudioChunk(bytes(event.frame.data), event.frame.sample_rate))
                if sum(chunk.duration for chunk in heard if rms(chunk) > 500) >= seconds:
                    break
    finally:
        await stream.aclose()
    return heard


@pytest.mark.parametrize("rate", [16000, 24000])
async def test_agent_frames_come_out_of_the_track_at_the_engine_rate(rate: int) -> None:
    room = LiveKitRoom("ws://127.0.0.1:1", "unused", sample_rate=rate)
    spoken = tone(0.6, rate, amplitude=8000)

    async def speak() -> None:
        for frame in spoken.split(FRAME_S):
            await room.capture(frame)
        for _ in range(10):  # silence after the reply, as the writer sends between replies
            await room.capture(AudioChunk.silence(FRAME_S, rate))

    speaking = asyncio.create_task(speak())
    heard = await heard_through_the_track(room, rate, 0.5)
    await speaking
    await room.disconnect()
    assert {chunk.sample_rate for chunk in heard} == {rate}
    loud = [chunk for chunk in heard if rms(chunk) > 500]
    assert sum(chunk.duration for chunk in loud) >= 0.5
    assert rms(loud[len(loud) // 2]) == pytest.approx(rms(spoken), rel=0.1)
