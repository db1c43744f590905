"""Concurrency: many simultaneous fake calls in one process (one core), in real time with
20 ms audio frames in and out. Measures the outgoing frame pacing jitter (how late each
agent audio frame left against its schedule), playout underruns (dead air mid-reply), CPU
use and memory per call. Target: >= 200 calls per core, jitter p99 <= 10 ms, no underruns.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import resource
import sys
import time

from bench.common import conversation, percentile, rss_mb
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.scripted.runner import ScriptedCall, build_scripted_call
from voice_agent.entrypoints.scripted.scenario import parse_scenario

DEFAULT_CALLS = 200
TURNS = 6
STAGGER_S = 3.0
"""Calls start at random moments within this window, as real calls do."""


async def _run_call(scripted: ScriptedCall, delay: float) -> None:
    await asyncio.sleep(delay)
    await scripted.run()


async def run(calls: int) -> dict[str, float]:
    gc.collect()
    rss_before = rss_mb()
    scenario = parse_scenario(
        {
            **conversation(TURNS, reply="Sure. We have a table for you at seven tonight."),
            "settings": {"max_call_duration": 120},
        }
    )
    config = SessionConfig()
    rng = random.Random(7)
    scripted = [
        build_scripted_call(scenario, base=config, keep_played_audio=False) for _ in range(calls)
    ]
    peak_rss = rss_mb()
    cpu_start = time.process_time()
    wall_start = time.perf_counter()

    async def sample_memory() -> None:
        nonlocal peak_rss
        while True:
            await asyncio.sleep(1.0)
            peak_rss = max(peak_rss, rss_mb())

    sampler = asyncio.create_task(sample_memory())
    await asyncio.gather(*(_run_call(s, rng.uniform(0, STAGGER_S)) for s in scripted))
    sampler.cancel()
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    lateness_ms = [value * 1000 for s in scripted for value in s.transport.playout.stats.lateness_s]
    frames = sum(s.transport.playout.stats.frames for s in scripted)
    underruns = sum(s.transport.playout.stats.underruns for s in scripted)
    completed = sum(1 for s in scripted if s.call.end_reason is not None)
    return {
        "calls": calls,
        "completed": completed,
        "wall_s": wall,
        "cpu_share": cpu / wall,
        "frames_out": frames,
        "underruns": underruns,
        "jitter_p50_ms": percentile(lateness_ms, 50),
        "jitter_p99_ms": percentile(lateness_ms, 99),
        "jitter_max_ms": max(lateness_ms),
        "rss_per_call_kb": (peak_rss - rss_before) * 1024 / calls,
        "peak_rss_mb": peak_rss,
    }


def main() -> None:
    calls = int(os.environ.get("BENCH_CALLS", DEFAULT_CALLS))
    result = asyncio.run(run(calls))
    print(f"simultaneous calls: {result['calls']} in one process (completed {result['completed']})")
    print(
        f"wall time: {result['wall_s']:.1f} s; "
        f"CPU use: {result['cpu_share'] * 100:.0f} % of one core"
    )
    print(f"agent frames sent: {result['frames_out']}; underruns: {result['underruns']}")
    print(
        f"outgoing frame pacing jitter: p50 {result['jitter_p50_ms']:.2f} ms, "
        f"p99 {result['jitter_p99_ms']:.2f} ms, max {result['jitter_max_ms']:.2f} ms"
    )
    print(
        f"memory: {result['rss_per_call_kb']:.0f} KiB per call "
        f"(peak RSS {result['peak_rss_mb']:.0f} MiB)"
    )
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"max RSS of the process: {ru.ru_maxrss / 1024:.0f} MiB", file=sys.stderr)
