"""The benchmarks' phone caller, whatever line it is on: a microphone paced in real time (a
440 Hz tone while speaking, digital silence otherwise, one 20 ms frame every 20 ms) and a
record of when loud agent audio arrived. Times are the event loop's clock. A line's caller
(`bench.livekit_caller`, `bench.web_phone_caller`) says how a frame is sent and feeds what
it receives to `heard`."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.common import first_at_or_after

FRAME_S = 0.02
SPEECH_S = 1.0
"""How long the caller speaks each turn."""
QUIET_S = 0.6
"""The caller speaks once the agent has been silent this long (its reply is over)."""
WAIT_S = 30.0
LOUD_RMS = 500.0
"""Agent audio louder than this is speech; the lines send digital silence between replies."""


class Caller(ABC):
    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.loud_times: list[float] = []
        """Arrival time of every loud agent frame, ascending."""
        self.speech_ended_at = 0.0
        self._speech_frames = 0
        self._speech_ended = asyncio.Event()
        self._heard_loud = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    @abstractmethod
    async def send_frame(self, pcm: bytes) -> None:
        """Send one 20 ms frame of 16-bit mono audio at `sample_rate`."""

    async def say(self, seconds: float) -> float:
        """Speak a tone for `seconds`; returns once the last frame is sent, with the loop time
        it was handed to the line (a microphone delivers a frame once it is recorded, so this
        is when the speech ended)."""
        self._speech_ended.clear()
        self._speech_frames = round(seconds / FRAME_S)
        await self._speech_ended.wait()
        return self.speech_ended_at

    async def first_loud_after(self, moment: float) -> float:
        """The arrival time of the first loud agent frame at or after `moment`."""
        async with self._heard_loud:
            await self._heard_loud.wait_for(
                lambda: first_at_or_after(self.loud_times, moment) is not None
            )
        found = first_at_or_after(self.loud_times, moment)
        assert found is not None
        return found

    async def quiet_for(self, seconds: float) -> None:
        """Wait until the agent, once heard, has been silent for `seconds` (its reply ended)."""
        loop = asyncio.get_running_loop()
        while True:
            last_loud = self.loud_times[-1] if self.loud_times else loop.time()
            left = seconds - (loop.time() - last_loud)
            if left <= 0 and self.loud_times:
                return
            await asyncio.sleep(max(left, FRAME_S))

    async def heard(self, samples: npt.NDArray[np.int16]) -> None:
        """One frame of agent audio arrived now."""
        if not samples.any():  # the silence between replies: most frames, nothing to do
            return
        wide = samples.astype(np.int64)
        if float(np.dot(wide, wide)) > LOUD_RMS**2 * samples.size:
            self.loud_times.append(asyncio.get_running_loop().time())
            async with self._heard_loud:
                self._heard_loud.notify_all()

    def start_microphone(self) -> None:
        self.in_background(self._microphone())

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` until `stop_tasks`."""
        self._tasks.append(asyncio.create_task(work))

    async def stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _microphone(self) -> None:
        loop = asyncio.get_running_loop()
        samples = int(self.sample_rate * FRAME_S)
        tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(samples) / self.sample_rate)).astype(
            np.int16
        )
        speech, silence = tone.tobytes(), bytes(2 * samples)
        due = loop.time()
        while True:
            speaking = self._speech_frames > 0
            captured_at = loop.time()
            await self.send_frame(speech if speaking else silence)
            if speaking:
                self._speech_frames -= 1
                if self._speech_frames == 0:
                    self.speech_ended_at = captured_at
                    self._speech_ended.set()
            due += FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))


@dataclass(frozen=True)
class Exchange:
    """One turn at the caller: when its speech ended and the agent's reply began."""

    speech_ended_at: float
    reply_heard_at: float

    @property
    def voice_to_voice_ms(self) -> float:
        return (self.reply_heard_at - self.speech_ended_at) * 1000


async def talk(caller: Caller, created_at: float, turns: int) -> list[Exchange]:
    """Hear the greeting, then speak `turns` times, each once the agent is silent."""
    await asyncio.wait_for(caller.first_loud_after(created_at), WAIT_S)
    exchanges: list[Exchange] = []
    for _ in range(turns):
        await asyncio.wait_for(caller.quiet_for(QUIET_S), WAIT_S)
        ended_at = await caller.say(SPEECH_S)
        reply_at = await asyncio.wait_for(caller.first_loud_after(ended_at), WAIT_S)
        exchanges.append(Exchange(ended_at, reply_at))
    await asyncio.wait_for(caller.quiet_for(QUIET_S), WAIT_S)
    return exchanges
