"""Phone calls through LiveKit, on the real livekit-server on loopback (started like the
tests start it) with the worker (`run_worker`) in this process on the scripted fakes. The
callers of `answer`, `turns` and `concurrency` are ordinary participants (what is measured
starts at the room or the dispatch); the `sip` part's caller is a real SIP phone calling
through the real LiveKit SIP service (livekit-sip, built by `make livekit-servers`).

`python -m bench livekit [--part answer|turns|concurrency|sip|sip-local] [--calls N] [--json]`:

- answer: a room is created, the caller joins and publishes its microphone, the agent is
  dispatched. Dispatch to published is from the worker receiving the job (the transport is
  built) to the caller seeing the agent's track: it excludes greeting synthesis. Room
  created to first audio is until the caller hears the greeting's first loud frame.
  Target: dispatch to published p95 <= 300 ms.
- turns: the same scripted turns (same fakes, same injected latencies) over LiveKit, on the
  web phone (served in this process) and over the in-memory line. Voice-to-voice at the
  caller (end of its speech to the first loud agent frame it receives) on LiveKit vs the
  web phone (target: LiveKit adds <= 60 ms); the engine's own part of each turn (stored
  latency minus the providers' stages) on LiveKit vs in memory: the adapter's overhead per
  turn on the agent's loop (target p95 <= 10 ms). The LiveKit line's media path is split
  into the way in (the caller's speech ended -> the engine received its last loud frame)
  and the way out (the engine handed the reply's first loud audio to the line -> the
  caller heard it).
- concurrency: many callers at once through one worker, each talking for a few turns: the
  lateness of the agent's frames at the room's `AudioSource` against when they are due to
  be heard (target p99 <= 10 ms), the event loop's lag, and the CPU of the worker, of the
  callers (in child processes of `CALLS_PER_PROCESS`, `bench.livekit_callers`) and of
  livekit-server.
- sip (`bench.sip_calls`): real SIP calls. baresip (`bench.sip_phone`, G.711 at 8 kHz)
  dials a number of livekit-sip's whose inbound trunk and dispatch rule (the provisioning of
  `voice-agent sip setup`) send each call to the worker, and talks the `turns` part's
  scenario, one call after another. Answer: `invite_to_200_ok` (the INVITE sent -> the
  phone got 200 OK) and `invite_to_first_audio` (the INVITE sent -> the first loud agent
  frame reached the phone; target p95 <= 1 s with the local stack's greeting, on the fakes
  reported as it is), split into `invite_to_dispatch` (-> the worker got the job),
  `dispatch_to_published` (the job -> the agent's track published, the server's
  acknowledgement as the worker sees it; target p95 <= 300 ms), `dispatch_to_200_ok` (the
  job -> 200 OK: livekit-sip answers once it has subscribed to that track) and
  `200_ok_to_first_audio`; `stored_*` are the worker's own answer times. Voice-to-voice at
  the phone, `caller_voice_to_voice_sip`: the caller's last loud speech frame left the phone
  -> the reply's first loud frame reached it, against `caller_voice_to_voice_web_phone` on
  the same scenario in the same run (`sip_extra_over_web_phone`, target <= 60 ms), split as
  in `turns` into the way in (`caller_speech_end_to_agent`) and the way out
  (`agent_reply_to_caller`). `phone_jitter_buffer` and `heard_slip` check how the phone's
  recordings were put on the clock (`bench.sip_calls` says how).
- sip-local: the same phone calls answered by the worker on the embedded local stack (its
  greeting rendered by Piper at start-up); the caller hangs up after the greeting. Then as
  many calls where the phone says a sentence (espeak-ng) the moment it is answered, over the
  greeting: how much of the greeting had played when the agent stopped for the caller.
  `invite_to_first_audio` here is the one the p95 <= 1 s target is for.

The worker's transport is replaced by a subclass that notes when each job arrived and when
its room had published the agent's track, and keeps the transports for their pacing
statistics (no hook in src/).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import shutil
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from dependency_injector import providers
from fake_servers.livekit_server import LiveKitServers, LiveKitUnavailable, livekit_sip_binary
from pydantic import SecretStr

from bench.caller import LOUD_RMS, WAIT_S, Exchange, talk
from bench.common import (
    conversation,
    engine_own_ms,
    first_at_or_after,
    last_before,
    latency_summary,
    paired_extra,
    percentile,
)
from bench.livekit_caller import LiveKitCaller, RoomAdmin
from bench.web_phone_caller import web_phone_call, web_phone_server
from voice_agent.adapters.audio.signal import rms
from voice_agent.adapters.fakes.llm import ScriptedLanguageModel
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech
from voice_agent.adapters.livekit import LiveKitCallTransport
from voice_agent.adapters.livekit.room import LiveKitRoom, RoomListener
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import Call
from voice_agent.domain.events import CallEnded, CallerInterrupted, DomainEvent
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn
from voice_agent.entrypoints.bootstrap.container import (
    CallStore,
    Container,
    memory_store,
    resolved,
)
from voice_agent.entrypoints.bootstrap.fake_stack import scripted_stack
from voice_agent.entrypoints.bootstrap.settings import Settings, StackName, WebPhoneSettings
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech, Stack
from voice_agent.entrypoints.scripted.runner import build_scripted_call
from voice_agent.entrypoints.scripted.scenario import Scenario, parse_scenario
from voice_agent.entrypoints.worker import main as worker_main

PARTS = ("answer", "turns", "concurrency", "sip", "sip-local")
AGENT_NAME = "bench-receptionist"
REPLY = "Sure. We have a table for you at seven tonight."
TURNS = 4
DEFAULT_CALLS = {"answer": 20, "turns": 10, "concurrency": 50, "sip": 5, "sip-local": 10}
SEQUENTIAL_SLOTS = 1
"""Calls the worker takes at once when the bench calls one after another: one, as a worker
with `WORKER_MAX_CALLS=1` would (it reports itself available the moment a call ends)."""
LAG_PROBE_S = 0.02
CALLS_PER_PROCESS = 10
"""Callers per child process (each its own rtc SDK runtime; see `bench.livekit_callers`)."""
CONCURRENT_STAGGER_S = 3.0
"""Concurrent calls are dispatched at moments spread over this window, as real calls are."""


def bench_scenario(turns: int = TURNS) -> Scenario:
    return parse_scenario({**conversation(turns, reply=REPLY), "settings": {}})


def scenario_stack(scenario: Scenario, config: SessionConfig) -> Stack:
    """The fake stack with every call getting fresh fakes scripted by `scenario`: the same
    speech the in-memory scripted call of the scenario runs on."""

    def speech() -> CallSpeech:
        return CallSpeech(
            ScriptedSpeechToText(scenario.script.transcripts, scenario.stt_settings()),
            ScriptedLanguageModel(scenario.replies, settings=scenario.llm_settings()),
            FakeTextToSpeech(scenario.tts_settings()),
        )

    return dataclasses.replace(scripted_stack(config, speech()), speech=speech, web_phone=True)


class TimedRoom(LiveKitRoom):
    """The worker's room, noting when it had joined and published the agent's track."""

    published_at: float | None = None

    async def connect(self, listener: RoomListener) -> None:
        await super().connect(listener)
        self.published_at = asyncio.get_running_loop().time()


class TimedTransport(LiveKitCallTransport):
    """The worker's transport, noting when the job arrived (the worker builds the transport
    first thing when it is assigned a job) and when the agent's track was published, and
    kept in `built` for its statistics."""

    built: list[TimedTransport] = []

    def __init__(self, url: str, token: str, **kwargs: Any) -> None:
        self.job_received_at = asyncio.get_running_loop().time()
        self.room: TimedRoom | None = None
        if kwargs.get("room") is None:
            self.room = kwargs["room"] = TimedRoom(
                url, token, sample_rate=kwargs.get("sample_rate", 16000)
            )
        super().__init__(url, token, **kwargs)
        self.heard_loud: list[float] = []
        """When each loud frame of the caller's reached the engine."""
        self.played_loud: list[float] = []
        """When the engine handed each loud chunk of agent audio to the line."""
        TimedTransport.built.append(self)

    async def play(self, chunk: AudioChunk) -> None:
        if rms(chunk) > LOUD_RMS:
            self.played_loud.append(asyncio.get_running_loop().time())
        await super().play(chunk)

    def audio_frames(self) -> AsyncIterator[AudioChunk]:
        return self._noting_loud(super().audio_frames())

    async def _noting_loud(self, frames: AsyncIterator[AudioChunk]) -> AsyncIterator[AudioChunk]:
        loop = asyncio.get_running_loop()
        async for frame in frames:
            if rms(frame) > LOUD_RMS:
                self.heard_loud.append(loop.time())
            yield frame

    def frame_lateness_s(self) -> list[float]:
        """How late each agent frame reached the room against when it is due to be heard
        (with the transport's lead, late only once the source's queue ran dry): the
        statistics of its `PacedPlayout` (a private attribute: nothing if it is renamed)."""
        playout = getattr(self, "_playout", None)
        return list(playout.stats.lateness_s) if playout is not None else []


@dataclass
class Worker:
    """The running worker as the bench sees it: its store, the server's API, and how many
    calls have ended."""

    servers: LiveKitServers
    store: CallStore
    admin: RoomAdmin
    ended: int = 0
    interrupted_after_s: list[float] = field(default_factory=list)
    """For each barge-in, how much of the agent's line the caller had heard."""
    _call_ended: asyncio.Event = field(default_factory=asyncio.Event)
    _interrupted: asyncio.Event = field(default_factory=asyncio.Event)

    def on_event(self, event: DomainEvent) -> None:
        if isinstance(event, CallEnded):
            self.ended += 1
            self._call_ended.set()
        elif isinstance(event, CallerInterrupted):
            self.interrupted_after_s.append(event.heard_seconds)
            self._interrupted.set()

    async def wait_interrupted(self, times: int) -> None:
        """Until `times` barge-ins have happened (TimeoutError after WAIT_S)."""
        async with asyncio.timeout(WAIT_S):
            while len(self.interrupted_after_s) < times:
                self._interrupted.clear()
                await self._interrupted.wait()

    async def wait_ended(self, calls: int) -> None:
        """Until `calls` calls have ended (TimeoutError after WAIT_S)."""
        async with asyncio.timeout(WAIT_S):
            while self.ended < calls:
                self._call_ended.clear()
                await self._call_ended.wait()

    async def stored_calls(self) -> list[Call]:
        calls: list[Call] = []
        for summary in (await self.store.repository.list()).calls:
            call = await self.store.repository.get(summary.id)
            assert call is not None
            calls.append(call)
        return calls

    async def stored_latencies(self) -> list[LatencyBreakdown]:
        """The engine's measures of every answered turn stored so far."""
        return [latency for call in await self.stored_calls() for latency in answered(call.turns)]


def answered(turns: Sequence[Turn]) -> list[LatencyBreakdown]:
    return [t.latency for t in turns if t.role is Role.AGENT and t.latency.e2e_ms is not None]


def e2e_and_own_ms(latencies: Sequence[LatencyBreakdown]) -> tuple[list[float], list[float]]:
    """Voice-to-voice and the engine's own part of it (`engine_own_ms`) of each turn."""
    e2e = [lat.e2e_ms for lat in latencies if lat.e2e_ms is not None]
    own = [v for v in (engine_own_ms(lat) for lat in latencies) if v is not None]
    return e2e, own


def worker_config(servers: LiveKitServers, max_calls: int) -> Container:
    """The container of a worker on `servers` (the fake stack, our agent name), taking up to
    `max_calls` at once, all of which may be being answered at the same moment."""
    return worker_config_at(servers.ws_url, servers.api_key, servers.api_secret, max_calls)


def worker_config_at(url: str, api_key: str, api_secret: str, max_calls: int) -> Container:
    """`worker_config` for the server at `url` with that key and secret."""
    settings = Settings(
        _env_file=None,
        stack=StackName.FAKE,
        livekit_url=url,
        livekit_api_key=SecretStr(api_key),
        livekit_api_secret=SecretStr(api_secret),
        livekit_agent_name=AGENT_NAME,
        worker_max_calls=max_calls,
        worker_drain_timeout_s=5,
        worker_http_port=0,
        web_phone=WebPhoneSettings(max_pending_starts=max(8, max_calls)),
    )
    container = Container()
    container.settings.override(providers.Object(settings))
    return container


@contextlib.asynccontextmanager
async def running_worker(
    servers: LiveKitServers, scenario: Scenario | None, max_calls: int
) -> AsyncIterator[Worker]:
    """`run_worker` on the fake stack scripted by `scenario`, registered and ready; with no
    scenario, on the embedded local stack (Whisper, SmolLM2, Piper), as `make run`."""
    container = worker_config(servers, max_calls)
    container.call_store.override(providers.Resource(memory_store))
    if scenario is None:
        local = container.settings().model_copy(update={"stack": StackName.LOCAL})
        container.settings.override(providers.Object(local))
    else:
        stack = scenario_stack(scenario, container.session_config())
        container.stack.override(providers.Object(stack))
    store: CallStore = await resolved(container.call_store())
    worker = Worker(servers, store, RoomAdmin(servers))
    stop, ready = asyncio.Event(), asyncio.Event()
    TimedTransport.built = []
    with mock.patch.object(worker_main, "LiveKitCallTransport", TimedTransport):
        task = asyncio.create_task(
            worker_main.run_worker(container, stop, [worker.on_event], ready=ready)
        )
        try:
            await asyncio.wait_for(ready.wait(), WAIT_S)
            yield worker
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, WAIT_S)
            except TimeoutError:
                print(f"the worker had not drained {WAIT_S:.0f} s after stop", file=sys.stderr)
            await worker.admin.aclose()


async def _call_in(worker: Worker, room: str) -> tuple[LiveKitCaller, float]:
    """A room created, the caller in it, the agent dispatched: the caller and the loop time
    the room was created at."""
    loop = asyncio.get_running_loop()
    created_at = loop.time()
    await worker.admin.create_room(room)
    caller = LiveKitCaller()
    await caller.join(worker.servers, room)
    await worker.admin.dispatch(room, AGENT_NAME)
    return caller, created_at


# -- answer -------------------------------------------------------------------------------
async def answer(servers: LiveKitServers, calls: int) -> dict[str, Any]:
    dispatch_to_published: list[float] = []
    room_to_audio: list[float] = []
    async with running_worker(servers, bench_scenario(0), max_calls=SEQUENTIAL_SLOTS) as worker:
        for n in range(calls):
            caller, created_at = await _call_in(worker, f"answer-{n}-{secrets.token_hex(3)}")
            try:
                first_audio = await asyncio.wait_for(caller.first_loud_after(created_at), WAIT_S)
            finally:
                await caller.leave()
            await worker.wait_ended(n + 1)
            transport = TimedTransport.built[-1]
            if caller.agent_track_at is not None:
                published = caller.agent_track_at - transport.job_received_at
                dispatch_to_published.append(published * 1000)
            room_to_audio.append((first_audio - created_at) * 1000)
        answers = [call.answer for call in await worker.stored_calls() if call.answer]
    return {
        "calls": calls,
        "dispatch_to_published": latency_summary(dispatch_to_published),
        "room_created_to_first_audio": latency_summary(room_to_audio),
        "stored_job_to_joined": latency_summary([a.joined_ms for a in answers]),
        "stored_job_to_first_audio": latency_summary(
            [a.first_audio_ms for a in answers if a.first_audio_ms is not None]
        ),
        "invite_to_first_audio": "on a SIP call: --part sip",
    }


# -- turns --------------------------------------------------------------------------------
async def _in_memory_latencies(
    scenario: Scenario, config: SessionConfig, calls: int
) -> list[LatencyBreakdown]:
    latencies: list[LatencyBreakdown] = []
    for _ in range(calls):
        scripted = build_scripted_call(scenario, base=config, keep_played_audio=False)
        await scripted.run()
        latencies += answered(scripted.call.turns)
    return latencies


def outbound_ms(exchanges: Sequence[Exchange], agent_played_loud: Sequence[float]) -> list[float]:
    """Per turn, the agent handed its reply's first loud audio to the line -> the caller
    heard its first loud frame."""
    delays: list[float] = []
    for exchange in exchanges:
        first = first_at_or_after(agent_played_loud, exchange.speech_ended_at)
        if first is not None:
            delays.append((exchange.reply_heard_at - first) * 1000)
    return delays


def inbound_ms(exchanges: Sequence[Exchange], agent_heard_loud: Sequence[float]) -> list[float]:
    """Per turn, the caller's speech ended -> the agent received its last loud frame."""
    delays: list[float] = []
    for exchange in exchanges:
        last = last_before(agent_heard_loud, exchange.reply_heard_at)
        if last is not None:
            delays.append((last - exchange.speech_ended_at) * 1000)
    return delays


async def web_phone_turns(scenario: Scenario, calls: int) -> list[float]:
    """The caller's voice-to-voice of the same turns on the web phone, on the same fakes."""
    settings = Settings(_env_file=None, stack=StackName.FAKE)
    container = Container()
    container.settings.override(providers.Object(settings))
    container.call_store.override(providers.Resource(memory_store))
    container.stack.override(providers.Object(scenario_stack(scenario, container.session_config())))
    latencies: list[float] = []
    async with web_phone_server(settings, container) as ws_url:
        for _ in range(calls):
            started_at = asyncio.get_running_loop().time()
            async with web_phone_call(ws_url) as caller:
                latencies += [e.voice_to_voice_ms for e in await talk(caller, started_at, TURNS)]
    return latencies


async def turns(servers: LiveKitServers, calls: int) -> dict[str, Any]:
    scenario = bench_scenario()
    caller_ms: list[float] = []
    caller_to_agent_ms: list[float] = []
    agent_to_caller_ms: list[float] = []
    async with running_worker(servers, scenario, max_calls=SEQUENTIAL_SLOTS) as worker:
        for n in range(calls):
            caller, created_at = await _call_in(worker, f"turns-{n}-{secrets.token_hex(3)}")
            try:
                exchanges = await talk(caller, created_at, TURNS)
            finally:
                await caller.leave()
            await worker.wait_ended(n + 1)
            caller_ms += [e.voice_to_voice_ms for e in exchanges]
            transport = TimedTransport.built[-1]
            caller_to_agent_ms += inbound_ms(exchanges, transport.heard_loud)
            agent_to_caller_ms += outbound_ms(exchanges, transport.played_loud)
        livekit_e2e, livekit_own = e2e_and_own_ms(await worker.stored_latencies())
    config = worker_config(servers, 1).session_config()
    memory_e2e, memory_own = e2e_and_own_ms(await _in_memory_latencies(scenario, config, calls))
    web_phone_ms = await web_phone_turns(scenario, calls)
    return {
        "calls": calls,
        "turns_per_call": TURNS,
        "caller_voice_to_voice_livekit": latency_summary(caller_ms),
        "caller_voice_to_voice_web_phone": latency_summary(web_phone_ms),
        "livekit_extra_over_web_phone": paired_extra(web_phone_ms, caller_ms),
        "engine_voice_to_voice_livekit": latency_summary(livekit_e2e),
        "engine_voice_to_voice_in_memory": latency_summary(memory_e2e),
        "engine_own_livekit": latency_summary(livekit_own),
        "engine_own_in_memory": latency_summary(memory_own),
        "adapter_overhead_per_turn": paired_extra(memory_own, livekit_own),
        "caller_side_extra_over_engine": paired_extra(livekit_e2e, caller_ms),
        "caller_speech_end_to_agent": latency_summary(caller_to_agent_ms),
        "agent_reply_to_caller": latency_summary(agent_to_caller_ms),
    }


# -- concurrency --------------------------------------------------------------------------
async def concurrency(servers: LiveKitServers, calls: int) -> dict[str, Any]:
    """The callers run in child processes (`bench.livekit_callers`, `CALLS_PER_PROCESS`
    each, every one its own rtc runtime): this process's CPU time is the worker's alone.
    The CPU of the callers' processes and of livekit-server is reported beside it, to tell
    whether the machine, not the worker, was the limit."""
    turns = 2
    async with running_worker(servers, bench_scenario(turns), max_calls=calls) as worker:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        server_cpu_start = server_cpu_s(servers)
        lags_ms: list[float] = []
        lag = asyncio.create_task(loop_lag_ms(LAG_PROBE_S, lags_ms))
        env = {
            **os.environ,
            "LIVEKIT_URL": servers.url,
            "LIVEKIT_API_KEY": servers.api_key,
            "LIVEKIT_API_SECRET": servers.api_secret,
        }
        heard = await asyncio.gather(
            *(
                _callers(first, min(CALLS_PER_PROCESS, calls - first), calls, turns, env)
                for first in range(0, calls, CALLS_PER_PROCESS)
            )
        )
        with contextlib.suppress(TimeoutError):  # reported as calls not ended
            await worker.wait_ended(calls)
        wall = time.perf_counter() - wall_start
        cpu = time.process_time() - cpu_start
        server_cpu = server_cpu_s(servers) - server_cpu_start
        lag.cancel()
        answered_calls = sum(1 for call in await worker.stored_calls() if call.answer)
    failures = [f for part in heard for f in part.get("failures", [])]
    lateness_ms = [s * 1000 for t in TimedTransport.built for s in t.frame_lateness_s()]
    callers_cpu = sum(part.get("cpu_s", 0.0) for part in heard)
    return {
        "calls": calls,
        "caller_processes": len(heard),
        "failed": len(failures),
        "connects_retried": sum(part.get("retried", 0) for part in heard),
        "answered": answered_calls,
        "ended": worker.ended,
        "first_failure": failures[0] if failures else None,
        "wall_s": wall,
        "worker_cpu_share": cpu / wall,
        "worker_cpu_share_per_call": cpu / wall / calls,
        "callers_cpu_share": callers_cpu / wall,
        "livekit_server_cpu_share": server_cpu / wall,
        **pacing_figures(lateness_ms, lags_ms),
        "caller_voice_to_voice": latency_summary(
            [v for part in heard for v in part.get("voice_to_voice_ms", [])]
        ),
    }


def pacing_figures(lateness_ms: Sequence[float], lags_ms: Sequence[float]) -> dict[str, Any]:
    """Frame jitter (how late agent frames reached their rooms) and the event loop's lag."""
    return {
        "frames_measured": len(lateness_ms),
        "jitter_p50_ms": percentile(lateness_ms, 50),
        "jitter_p99_ms": percentile(lateness_ms, 99),
        "jitter_max_ms": max(lateness_ms) if lateness_ms else float("nan"),
        "loop_lag_p99_ms": percentile(lags_ms, 99),
        "loop_lag_max_ms": max(lags_ms) if lags_ms else float("nan"),
    }


async def _callers(first: int, calls: int, of: int, turns: int, env: dict[str, str]) -> Any:
    """One process of callers (calls `first`.. of `of`): its JSON report, or its failure."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.livekit_callers",
        f"--calls={calls}",
        f"--first={first}",
        f"--of={of}",
        f"--turns={turns}",
        f"--stagger={CONCURRENT_STAGGER_S}",
        f"--agent={AGENT_NAME}",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        return {"failures": [f"a callers' process exited {process.returncode}"] * calls}
    return json.loads(out)


def server_cpu_s(servers: LiveKitServers) -> float:
    """CPU seconds livekit-server has used so far (Linux /proc; 0 where unknown). Reads the
    servers' private process list: a bench-only look."""
    total = 0.0
    for process in getattr(servers, "_processes", []):
        popen = getattr(process, "popen", None)
        if popen is None or getattr(process, "name", "") != "livekit-server":
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def loop_lag_ms(period_s: float, lags_ms: list[float]) -> None:
    """Until cancelled, how late each `period_s` sleep wakes up (ms): the event loop blocked
    (a synchronous call, a starved process), as opposed to one call's pacing falling behind."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + period_s
        await asyncio.sleep(period_s)
        lags_ms.append(max(0.0, loop.time() - due) * 1000)


async def sip(servers: LiveKitServers, calls: int) -> dict[str, Any]:
    from bench.sip_calls import sip_calls  # it builds on this module: imported when run

    return await sip_calls(servers, calls)


async def sip_local(servers: LiveKitServers, calls: int) -> dict[str, Any]:
    from bench.sip_calls import sip_answers

    return await sip_answers(servers, calls)


BENCHES = {
    "answer": answer,
    "turns": turns,
    "concurrency": concurrency,
    "sip": sip,
    "sip-local": sip_local,
}


async def run(parts: list[str], calls: int | None) -> dict[str, Any]:
    report: dict[str, Any] = {}
    with LiveKitServers(sip=any(part.startswith("sip") for part in parts)) as servers:
        for part in parts:
            report[part] = await BENCHES[part](servers, calls or DEFAULT_CALLS[part])
    return report


def sip_unavailable() -> str | None:
    """Why the `sip` part cannot run on this machine (None: it can)."""
    if shutil.which("baresip") is None:
        return "no baresip on PATH (the Debian package `baresip-core`)"
    try:
        livekit_sip_binary()
    except LiveKitUnavailable as error:
        return str(error)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench livekit", description=__doc__)
    parser.add_argument("--part", choices=PARTS, action="append", help="default: all")
    parser.add_argument("--calls", type=int, help="calls per part (default: per part)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv or [])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    if args.calls is not None and args.calls < 1:
        parser.error("--calls must be at least 1")
    parts, skipped = args.part or list(PARTS), {}
    if not args.part and (missing := sip_unavailable()) is not None:
        for part in ("sip", "sip-local"):
            parts.remove(part)  # all parts but these can run here
            skipped[part] = f"skipped: {missing}"
    try:
        report = asyncio.run(run(parts, args.calls))
    except LiveKitUnavailable as error:
        print(f"bench livekit needs the LiveKit server: {error}")
        return 2
    print(json.dumps(report | skipped, indent=None if args.json else 2))
    return 0
