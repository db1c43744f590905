"""Real-time paced playout of agent audio: the queue every transport keeps between the
engine and the wire, with barge-in clearing, a played-out position, and pacing statistics."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from voice_agent.domain.audio import BYTES_PER_SAMPLE, AudioChunk, samples_for

FrameSink = Callable[[AudioChunk], None]
LATENESS_SAMPLES_KEPT = 3000


@dataclass(slots=True)
class PlayoutStats:
    frames: int = 0
    underruns: int = 0
    """Times the queue ran dry while the producer still had audio coming (dead air)."""
    lateness_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENESS_SAMPLES_KEPT))
    """How late recent frames went out against the moment they are due to be heard (the
    pacing jitter; with a lead, what is left of it once the sink's buffer ran dry); bounded
    so that a long call does not grow memory."""


class PacedPlayout:
    """Sends queued audio to `sink` one frame every `frame_s`, on an absolute schedule so
    that lateness never accumulates. `played_seconds` counts frames actually sent (and,
    with a lead, already due to be heard).

    The producer calls `play()` for each chunk and `wait_played_out()` once it has no more
    audio for now; a dry queue in between counts as an underrun.

    `lead_s`: for a sink that buffers and plays in real time itself (LiveKit's
    `AudioSource` queue), frames go out this far ahead of the moment they are heard, so an
    event-loop stall shorter than the lead leaves no gap at the listener. `clear()` must
    then empty the sink's buffer too (the frames handed ahead were never heard).
    """

    def __init__(
        self, sample_rate: int, sink: FrameSink, *, frame_s: float = 0.02, lead_s: float = 0.0
    ) -> None:
        self.sample_rate = sample_rate
        self.frame_s = frame_s
        self.lead_s = lead_s
        self._frame_bytes = samples_for(frame_s, sample_rate) * BYTES_PER_SAMPLE
        self._sink = sink
        self._frames: deque[bytes] = deque()
        self._partial = b""
        self._expect_more = False
        self._dry = False
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        self._on_state: list[Callable[[bool], None]] = []
        self._sent_seconds = 0.0
        self._last_heard_at = 0.0
        """Loop time the last frame sent is due to be heard (from then it counts as played)."""
        self._heard_until = -math.inf
        """With a lead: loop time the sink has played all it was handed (it holds none after a
        clear)."""
        self.stats = PlayoutStats()

    @property
    def played_seconds(self) -> float:
        """Audio played so far: the frames sent, less those the sink holds for later."""
        if not self.lead_s:
            return self._sent_seconds
        ahead = self._last_heard_at - asyncio.get_running_loop().time()
        return self._sent_seconds - max(0.0, ahead)

    def on_speaking_changed(self, callback: Callable[[bool], None]) -> None:
        """`callback(True)` when audio starts going out after a pause, `False` when it stops."""
        self._on_state.append(callback)

    def play(self, chunk: AudioChunk) -> None:
        if chunk.sample_rate != self.sample_rate:
            raise ValueError(
                f"playout runs at {self.sample_rate} Hz, got audio at {chunk.sample_rate} Hz"
            )
        data = self._partial + chunk.pcm
        cut = len(data) - len(data) % self._frame_bytes
        self._frames.extend(
            data[i : i + self._frame_bytes] for i in range(0, cut, self._frame_bytes)
        )
        self._partial = data[cut:]
        self._expect_more = True
        self._drained.clear()
        self._wakeup.set()
        self._ensure_running()

    def clear(self) -> None:
        if self.lead_s:  # what was handed ahead is dropped from the sink's buffer
            self._sent_seconds = self.played_seconds
            self._last_heard_at = 0.0
            self._heard_until = -math.inf
        self._frames.clear()
        self._partial = b""
        self._expect_more = False
        self._drained.set()

    async def wait_played_out(self) -> None:
        """Flush the last partial frame and wait until everything queued has been sent."""
        if self._partial:
            padding = bytes(self._frame_bytes - len(self._partial))
            self._frames.append(self._partial + padding)
            self._partial = b""
            self._wakeup.set()
        self._expect_more = False
        if self._frames:
            self._drained.clear()
            self._ensure_running()
        await self._drained.wait()
        if self.lead_s:  # until the last frame handed ahead is due to be heard
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(0.0, self._last_heard_at - loop.time()))

    def halt(self) -> None:
        """The line is gone: stop sending and drop the queue. Unlike `clear()`, waiters of
        `wait_played_out` are not released: the audio was never played."""
        self._frames.clear()
        self._partial = b""
        self._expect_more = False
        if self._task is not None:
            self._task.cancel()

    async def aclose(self) -> None:
        self.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="paced-playout")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._frames:
                continue
            self._notify(True)
            # With a lead the sink may still hold frames handed ahead before the queue ran
            # dry: these are heard after them, not at once.
            heard_at = loop.time()
            if self.lead_s:
                heard_at = max(heard_at, self._heard_until)
            while self._frames:
                self._send(self._frames.popleft(), heard_at, loop.time() - heard_at)
                heard_at += self.frame_s
                deadline = heard_at - self.lead_s
                await asyncio.sleep(max(0.0, deadline - loop.time()))
                if not self._frames and self._expect_more:
                    self._count_underrun()
            self._dry = False
            self._drained.set()
            self._notify(False)

    def _send(self, frame: bytes, heard_at: float, lateness: float) -> None:
        self._dry = False
        self.stats.frames += 1
        self.stats.lateness_s.append(max(0.0, lateness))
        self._sent_seconds += self.frame_s
        self._last_heard_at = heard_at
        self._heard_until = heard_at + self.frame_s
        self._sink(AudioChunk(frame, self.sample_rate))

    def _count_underrun(self) -> None:
        if not self._dry:
            self._dry = True
            self.stats.underruns += 1

    def _notify(self, speaking: bool) -> None:
        for callback in self._on_state:
            callback(speaking)
