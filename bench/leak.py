"""Leaks: resident memory growth over one simulated hour of conversation.

One call talks non-stop for an hour on a fast-forwarded loop (looptime): about 700 turns,
each with a reply streamed through the model, synthesis and paced playout. Memory is read
after a 5-minute warm-up and again at the hour. Target: growth <= 5 MB. The call's own
transcript (turns kept on the `Call` and in the in-memory repository) is part of the figure.
"""

from __future__ import annotations

import asyncio
import gc

from bench.common import conversation, rss_mb
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.scripted.runner import build_scripted_call, run_fast_forwarded
from voice_agent.entrypoints.scripted.scenario import parse_scenario

HOUR_S = 3600.0
WARM_UP_S = 300.0
TURNS = 800  # more than fit in an hour: the call runs until the time limit


async def run() -> dict[str, float]:
    scenario = parse_scenario(
        {
            **conversation(TURNS, reply="Sure. We can do that for you at seven tonight."),
            "settings": {"max_call_duration": HOUR_S},
        }
    )
    scripted = build_scripted_call(scenario, base=SessionConfig(), keep_played_audio=False)
    readings: dict[str, float] = {}

    async def read_memory() -> None:
        await asyncio.sleep(WARM_UP_S)
        gc.collect()
        readings["warm"] = rss_mb()
        readings["warm_turns"] = len(scripted.call.turns)
        await asyncio.sleep(HOUR_S - WARM_UP_S - 1)
        gc.collect()
        readings["hour"] = rss_mb()

    reader = asyncio.create_task(read_memory())
    call = await scripted.run()
    await reader
    readings["turns"] = len(call.turns)
    readings["frames"] = scripted.transport.playout.stats.frames
    return readings


def main() -> None:
    r = run_fast_forwarded(run)
    print(
        f"simulated: one call of {HOUR_S / 60:.0f} minutes, {r['turns']:.0f} turns, "
        f"{r['frames']:.0f} agent frames played"
    )
    print(f"RSS after {WARM_UP_S / 60:.0f} min: {r['warm']:.1f} MiB ({r['warm_turns']:.0f} turns)")
    print(f"RSS at 60 min: {r['hour']:.1f} MiB")
    print(f"growth: {r['hour'] - r['warm']:.2f} MiB")
