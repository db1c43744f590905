"""The caller audio the line keeps for an audio end-of-turn detector: the last 8 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from voice_agent.adapters.audio.energy_vad import EnergyVoiceActivityDetector
from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.application.ports.transport import TransportEvent
from voice_agent.application.session.inputs import CallerHungUp, Input
from voice_agent.application.session.line import CallerLine
from voice_agent.domain.audio import AudioChunk

FRAME_S = 0.5


class FramesOnly:
    """A transport that delivers `frames` of caller audio, then hangs up."""

    input_sample_rate = 8000
    output_sample_rate = 8000

    def __init__(self, frames: list[AudioChunk]) -> None:
        self._frames = frames

    async def audio_frames(self) -> AsyncIterator[AudioChunk]:
        for frame in self._frames:
            yield frame

    async def events(self) -> AsyncIterator[TransportEvent]:
        await asyncio.Event().wait()  # no key presses: wait until the line stops
        for event in list[TransportEvent]():
            yield event


async def test_the_line_keeps_the_last_eight_seconds_of_caller_audio() -> None:
    frames = [AudioChunk(bytes([n]) * 2 * 4000, 8000) for n in range(20)]  # 10 s
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    line = CallerLine(
        FramesOnly(frames),  # type: ignore[arg-type]
        ScriptedSpeechToText(),
        EnergyVoiceActivityDetector(),
        LoopClock(),
        inputs,
        keep_recent_audio=True,
    )
    assert line.recent_audio() is None
    await line.start()
    while not isinstance(await inputs.get(), CallerHungUp):
        pass
    kept = line.recent_audio()
    await line.stop()
    assert kept is not None
    assert kept.sample_rate == 8000
    assert kept.duration == 8.0
    assert kept.pcm == b"".join(frame.pcm for frame in frames[4:])


async def test_without_an_audio_detector_the_line_keeps_no_audio() -> None:
    frames = [AudioChunk(bytes([n]) * 2 * 4000, 8000) for n in range(4)]
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    line = CallerLine(
        FramesOnly(frames),  # type: ignore[arg-type]
        ScriptedSpeechToText(),
        EnergyVoiceActivityDetector(),
        LoopClock(),
        inputs,
    )
    await line.start()
    while not isinstance(await inputs.get(), CallerHungUp):
        pass
    await line.stop()
    assert line.recent_audio() is None
