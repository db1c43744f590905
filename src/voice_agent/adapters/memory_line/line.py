"""An in-memory phone line with a scripted caller. Caller audio is generated in real time
(a tone while the caller "speaks", silence otherwise); agent audio is paced out in real time
and recorded with its timestamps, so tests can assert on what the caller heard and when."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from voice_agent.adapters.audio.playout import PacedPlayout
from voice_agent.adapters.audio.signal import tone
from voice_agent.adapters.memory_line.caller import CallerAction, CallerScript
from voice_agent.application.ports.transport import DtmfPressed, TransportEvent
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.dtmf import checked_dtmf

_END = object()


@dataclass(slots=True)
class AgentSegment:
    """A stretch of agent audio the caller heard without a gap: [start, end) in loop time."""

    start: float
    end: float | None = None


@dataclass(slots=True)
class LineRecord:
    """Everything that happened on the line."""

    played: list[tuple[float, AudioChunk]] = field(default_factory=list)
    segments: list[AgentSegment] = field(default_factory=list)
    cleared_at: list[float] = field(default_factory=list)
    hung_up_by: str | None = None
    transferred_to: str | None = None
    sent_dtmf: list[str] = field(default_factory=list)
    """Digits the agent pressed (`send_dtmf`), one entry per call."""
    closed_for: str | None = None
    """The reason the line was closed with (the call's end reason, or `busy`)."""
    caller_speech: list[tuple[float, float]] = field(default_factory=list)
    """[start, end) of each caller utterance, in loop time."""


class InMemoryCallTransport:
    def __init__(
        self,
        caller: CallerScript | Sequence[CallerAction] = (),
        *,
        caller_number: str | None = "+15550100",
        input_sample_rate: int = 16000,
        output_sample_rate: int = 16000,
        frame_s: float = 0.02,
        keep_played_audio: bool = True,
    ) -> None:
        self._script = caller if isinstance(caller, CallerScript) else CallerScript(caller)
        self._caller_number = caller_number
        self._in_rate = input_sample_rate
        self._out_rate = output_sample_rate
        self._frame_s = frame_s
        self._keep_played = keep_played_audio
        self.record = LineRecord()
        self._playout = PacedPlayout(output_sample_rate, self._on_frame, frame_s=frame_s)
        self._playout.on_speaking_changed(self._on_agent_speaking)
        self._events: asyncio.Queue[TransportEvent | object] = asyncio.Queue()
        self._agent_changed = asyncio.Condition()
        self._speaking_until = 0.0
        self._ended = asyncio.Event()
        self._caller_task: asyncio.Task[None] | None = None
        self._speech_frame = tone(frame_s, input_sample_rate, frequency=180.0, amplitude=4000)
        self._silent_frame = AudioChunk.silence(frame_s, input_sample_rate)

    # -- CallTransport ---------------------------------------------------------------
    @property
    def caller_number(self) -> str | None:
        return self._caller_number

    @property
    def input_sample_rate(self) -> int:
        return self._in_rate

    @property
    def output_sample_rate(self) -> int:
        return self._out_rate

    @property
    def played_seconds(self) -> float:
        return self._playout.played_seconds

    @property
    def playout(self) -> PacedPlayout:
        return self._playout

    async def audio_frames(self) -> AsyncIterator[AudioChunk]:
        loop = asyncio.get_running_loop()
        self._caller_task = asyncio.create_task(self._run_caller(), name="scripted-caller")
        deadline = loop.time()
        while not self._ended.is_set():
            yield self._caller_frame(speaking=loop.time() < self._speaking_until)
            deadline += self._frame_s
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def _caller_frame(self, *, speaking: bool) -> AudioChunk:
        """The caller's next frame: a tone while speaking (subclasses play recordings)."""
        return self._speech_frame if speaking else self._silent_frame

    async def events(self) -> AsyncIterator[TransportEvent]:
        while True:
            item = await self._events.get()
            if item is _END:
                return
            yield item  # type: ignore[misc]

    async def play(self, chunk: AudioChunk) -> None:
        if not self._ended.is_set():
            self._playout.play(chunk)

    async def clear_audio(self) -> None:
        self.record.cleared_at.append(asyncio.get_running_loop().time())
        self._playout.clear()

    async def wait_played_out(self) -> None:
        await self._playout.wait_played_out()

    async def hang_up(self) -> None:
        self._end("agent")

    async def transfer(self, destination: str) -> None:
        self.record.transferred_to = destination
        self._end("transfer")

    async def send_dtmf(self, digits: str) -> None:
        self.record.sent_dtmf.append(checked_dtmf(digits))

    # -- the caller's side -----------------------------------------------------------
    def caller_speaks(self, duration_s: float) -> None:
        """The caller makes voice for `duration_s` from now (scripts and tests use this)."""
        now = asyncio.get_running_loop().time()
        self._speaking_until = now + duration_s
        self.record.caller_speech.append((now, self._speaking_until))

    def caller_presses(self, digit: str) -> None:
        self._events.put_nowait(DtmfPressed(digit))

    def caller_hangs_up(self) -> None:
        self._end("caller")

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def open(self) -> None:
        """The in-memory caller is on the line from the start."""

    async def close(self, reason: str = "ended", message: str | None = None) -> None:
        """Stop the caller and the playout; the first `reason` is kept in the record."""
        if self.record.closed_for is None:
            self.record.closed_for = reason
        self._end(self.record.hung_up_by or "agent")
        if self._caller_task is not None:
            self._caller_task.cancel()
            await asyncio.gather(self._caller_task, return_exceptions=True)
        await self._playout.aclose()

    def _end(self, by: str) -> None:
        if self._ended.is_set():
            return
        self.record.hung_up_by = by
        self._ended.set()
        self._playout.halt()
        self._events.put_nowait(_END)

    def _on_frame(self, frame: AudioChunk) -> None:
        if self._keep_played:
            self.record.played.append((asyncio.get_running_loop().time(), frame))

    def _on_agent_speaking(self, speaking: bool) -> None:
        now = asyncio.get_running_loop().time()
        if speaking:
            self.record.segments.append(AgentSegment(start=now))
        elif self.record.segments and self.record.segments[-1].end is None:
            self.record.segments[-1].end = now
        asyncio.get_running_loop().create_task(self._notify_agent_changed())

    async def _notify_agent_changed(self) -> None:
        async with self._agent_changed:
            self._agent_changed.notify_all()

    def _agent_speaking(self) -> bool:
        return bool(self.record.segments) and self.record.segments[-1].end is None

    async def _run_caller(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        since = started
        for action in self._script.actions:
            await self._wait_for(action, since, started)
            if self._ended.is_set():
                return
            now = loop.time()
            if action.kind == "hang_up":
                self.caller_hangs_up()
                return
            if action.kind == "dtmf":
                self.caller_presses(action.text)
                since = now
                continue
            self.caller_speaks(action.duration_s)
            await asyncio.sleep(action.duration_s)
            since = loop.time()

    async def _wait_for(self, action: CallerAction, since: float, started: float) -> None:
        loop = asyncio.get_running_loop()
        trigger = action.trigger
        if trigger == "at":
            await asyncio.sleep(max(0.0, started + action.seconds - loop.time()))
        elif trigger == "after_silence":
            await asyncio.sleep(action.seconds)
        elif trigger == "into_reply":
            start = await self._agent_started_after(since)
            await asyncio.sleep(max(0.0, start + action.seconds - loop.time()))
        else:  # after_reply: the agent spoke since `since`, then went quiet for `seconds`
            await self._agent_started_after(since)
            while True:
                await self._wait_agent(lambda: not self._agent_speaking())
                await asyncio.sleep(action.seconds)
                if not self._agent_speaking():
                    return

    async def _agent_started_after(self, since: float) -> float:
        """Wait for agent speech going on at or after `since`; return when it started."""

        def speaking_since(seg: AgentSegment) -> bool:
            return seg.start >= since or seg.end is None or seg.end > since

        await self._wait_agent(lambda: any(speaking_since(s) for s in self.record.segments))
        return next(s.start for s in self.record.segments if speaking_since(s))

    async def _wait_agent(self, predicate: Callable[[], bool]) -> None:
        async with self._agent_changed:
            await self._agent_changed.wait_for(lambda: predicate() or self._ended.is_set())
