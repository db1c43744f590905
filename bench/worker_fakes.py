"""Many calls through one `voice-agent worker` on fakes, no WebRTC: `python -m bench
worker-fakes [--calls N] [--turns T] [--json]`.

The worker is the real one (`run_worker`: its dispatch client, `CallRunner`, the engine,
`LiveKitCallTransport` with its writer task and `PacedPlayout`) on the scripted fake
providers, registered with the loopback fake of livekit-server's `/agent` protocol
(`fake_servers.livekit_agent`), which dispatches the calls at moments spread over 3 s. Each
call's room is `MediaFreeRoom`: it stands where the rtc SDK's room would, with what the
transport relies on modelled (the agent's `AudioSource` plays what it is given in real
time and `capture` waits while 100 ms are queued; the caller's `AudioStream` delivers a
20 ms frame every 20 ms) and no media work (Opus, SRTP, the SFU). The caller in each room
waits for the agent to finish speaking, talks for 1.2 s (a tone the scripted recognizer
hears as the next question), and hangs up after its last answer.

So the figures are the worker's own at `calls` calls: frame jitter (how late each agent
frame reached the room against when it is due to be heard, as `--part concurrency` of
`bench livekit` measures it; target p99 <= 10 ms), the event loop's lag, CPU. With real
WebRTC callers on this 2-core host, the callers' media alone saturated it at 20 calls
(docs/performance.md, "Phone calls through LiveKit").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator
from typing import Any
from unittest import mock

from dependency_injector import providers
from fake_servers.livekit_agent import API_KEY, API_SECRET, FakeLiveKitDispatch

from bench.caller import LOUD_RMS
from bench.livekit_calls import (
    CONCURRENT_STAGGER_S,
    LAG_PROBE_S,
    REPLY,
    TimedTransport,
    bench_scenario,
    loop_lag_ms,
    pacing_figures,
    scenario_stack,
    worker_config_at,
)
from voice_agent.adapters.audio.signal import rms, tone
from voice_agent.adapters.livekit.room import ParticipantKind, RoomListener, RoomParticipant
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import Call
from voice_agent.domain.events import CallEnded, DomainEvent
from voice_agent.entrypoints.bootstrap.container import CallStore, memory_store, resolved
from voice_agent.entrypoints.worker import main as worker_main

DEFAULT_CALLS = 50
TURNS = 2
FRAME_S = 0.02
SOURCE_QUEUE_S = 0.1
"""The agent's `AudioSource` queue (`SOURCE_QUEUE_MS` in the room adapter)."""
SAY_S = 1.2
AGENT_DONE_S = 0.5
"""The caller speaks once the agent has been quiet this long after speaking."""
MAX_CALL_S = 90.0
WAIT_S = 150.0


class MediaFreeRoom:
    """A `CallRoom` with a SIP caller and no media stack (see the module docstring)."""

    def __init__(self, name: str, sample_rate: int, turns: int) -> None:
        self._name = name
        self._rate = sample_rate
        self._turns = turns
        self._caller = RoomParticipant(
            f"sip_{name}", ParticipantKind.SIP, {"sip.callStatus": "active"}
        )
        self._listener: RoomListener | None = None
        self._queued_until = 0.0
        self.agent_loud_until = 0.0
        """When the agent's last loud audio given to the room finishes playing."""
        self._left = False

    @property
    def name(self) -> str:
        return self._name

    async def connect(self, listener: RoomListener) -> None:
        self._listener = listener
        listener.participant_joined(self._caller)
        listener.audio_track_ready(self._caller)

    async def caller_audio(self, identity: str) -> AsyncIterator[AudioChunk]:
        loop = asyncio.get_running_loop()
        silence = AudioChunk.silence(FRAME_S, self._rate)
        voice = tone(FRAME_S, self._rate)
        started = loop.time()
        frames = said = 0
        speaking_until = heard_until = 0.0
        while not self._left:
            frames += 1
            await asyncio.sleep(max(0.0, started + frames * FRAME_S - loop.time()))
            now = loop.time()
            answered = self.agent_loud_until > heard_until
            if now >= speaking_until and answered and now - self.agent_loud_until >= AGENT_DONE_S:
                heard_until = self.agent_loud_until
                if said == self._turns or now - started > MAX_CALL_S:
                    self._hang_up()
                    return
                said += 1
                speaking_until = now + SAY_S
            yield voice if now < speaking_until else silence

    def _hang_up(self) -> None:
        self._left = True
        if self._listener is not None:
            self._listener.participant_left(self._caller.identity)

    async def capture(self, frame: AudioChunk) -> None:
        loop = asyncio.get_running_loop()
        ahead = self._queued_until - loop.time()
        if ahead > SOURCE_QUEUE_S:
            await asyncio.sleep(ahead - SOURCE_QUEUE_S)
        self._queued_until = max(loop.time(), self._queued_until) + frame.duration
        if rms(frame) > LOUD_RMS:
            self.agent_loud_until = self._queued_until

    def clear_queue(self) -> None:
        now = asyncio.get_running_loop().time()
        self._queued_until = now
        self.agent_loud_until = min(self.agent_loud_until, now)

    async def publish_dtmf(self, code: int, digit: str) -> None:
        return None

    async def disconnect(self) -> None:
        self._left = True


def media_free_transport(turns: int) -> type[TimedTransport]:
    class MediaFreeTransport(TimedTransport):
        def __init__(self, url: str, token: str, **kwargs: Any) -> None:
            rate = kwargs.get("sample_rate", 16000)
            kwargs["room"] = MediaFreeRoom(token.removeprefix("room-"), rate, turns)
            super().__init__(url, token, **kwargs)

    return MediaFreeTransport


async def run(calls: int, turns: int) -> dict[str, Any]:
    ended = 0
    all_ended = asyncio.Event()

    def on_event(event: DomainEvent) -> None:
        nonlocal ended
        if isinstance(event, CallEnded):
            ended += 1
            if ended == calls:
                all_ended.set()

    async with FakeLiveKitDispatch() as dispatch:
        assert isinstance(dispatch, FakeLiveKitDispatch)
        container = worker_config_at(dispatch.ws_url, API_KEY, API_SECRET, calls)
        container.call_store.override(providers.Resource(memory_store))
        stack = scenario_stack(bench_scenario(turns), container.session_config())
        container.stack.override(providers.Object(stack))
        store: CallStore = await resolved(container.call_store())
        stop, ready = asyncio.Event(), asyncio.Event()
        TimedTransport.built = []
        transport = media_free_transport(turns)
        with mock.patch.object(worker_main, "LiveKitCallTransport", transport):
            worker = asyncio.create_task(
                worker_main.run_worker(container, stop, [on_event], ready=ready)
            )
            try:
                await asyncio.wait_for(ready.wait(), WAIT_S)
                report = await _calls(dispatch, store, calls, all_ended)
            finally:
                stop.set()
                await asyncio.wait_for(worker, WAIT_S)
    report["ended"] = ended
    return report


async def _calls(
    dispatch: FakeLiveKitDispatch, store: CallStore, calls: int, all_ended: asyncio.Event
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    lags_ms: list[float] = []
    lag = asyncio.create_task(loop_lag_ms(LAG_PROBE_S, lags_ms))
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    rng = random.Random(7)
    start = loop.time()
    assigned = 0
    for n, at in enumerate(sorted(rng.uniform(0, CONCURRENT_STAGGER_S) for _ in range(calls))):
        await asyncio.sleep(max(0.0, start + at - loop.time()))
        _, taken = await dispatch.dispatch(f"call-{n}")
        assigned += taken
    with contextlib.suppress(TimeoutError):  # reported as calls not ended
        await asyncio.wait_for(all_ended.wait(), WAIT_S)
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    lag.cancel()
    page = await store.repository.list(limit=calls)
    stored = [await store.repository.get(summary.id) for summary in page.calls]
    lateness_ms = [s * 1000 for t in TimedTransport.built for s in t.frame_lateness_s()]
    return {
        "calls": calls,
        "assigned": assigned,
        "answered": sum(1 for call in stored if call is not None and call.answer),
        "agent_turns_answered": sum(_answers(call) for call in stored if call is not None),
        "wall_s": wall,
        "worker_cpu_share": cpu / wall,
        "worker_cpu_share_per_call": cpu / wall / calls,
        **pacing_figures(lateness_ms, lags_ms),
    }


def _answers(call: Call) -> int:
    return sum(1 for turn in call.turns if turn.text == REPLY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench worker-fakes")
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS)
    parser.add_argument("--turns", type=int, default=TURNS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.calls, args.turns))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:>28}: {value:.2f}" if isinstance(value, float) else f"{key:>28}: {value}")
    return 0
