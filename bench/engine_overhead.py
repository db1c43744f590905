"""Engine overhead: voice-to-voice latency minus the latencies injected into the fakes.

Calls run on the real wall clock (not fast-forwarded), so what remains after subtracting
the injected stages is the engine's own cost: queues, tasks, timers, phrase cutting and
playout hand-off. Target: p95 <= 5 ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from bench.common import conversation, percentile
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.turn import Role
from voice_agent.entrypoints.scenario import parse_scenario
from voice_agent.entrypoints.scripted_call import build_scripted_call

T = TypeVar("T")
CALLS = 8
TURNS_PER_CALL = 5
INJECTED = {"stt_final": 0.12, "llm_ttft": 0.25, "tts_ttfb": 0.09}
# Tokens stream so fast that the first phrase is complete as soon as the first token lands.
TOKENS_PER_SECOND = 1e6
STAGGER_S = 0.137
"""Calls start at different moments, as real calls do (not all on one 20 ms frame grid)."""


async def _after(delay: float, work: Awaitable[T]) -> T:
    await asyncio.sleep(delay)
    return await work


async def run() -> list[float]:
    scenario = parse_scenario(
        {
            **conversation(TURNS_PER_CALL),
            "latency": {**INJECTED, "llm_tokens_per_second": TOKENS_PER_SECOND},
        }
    )
    config = SessionConfig()
    calls = [
        build_scripted_call(scenario, base=config, keep_played_audio=False) for _ in range(CALLS)
    ]
    await asyncio.gather(*(_after(n * STAGGER_S, c.run()) for n, c in enumerate(calls)))
    eou_s = config.end_of_turn.min_delay_s
    injected_ms = (eou_s + INJECTED["llm_ttft"] + INJECTED["tts_ttfb"]) * 1000
    overheads = []
    for scripted in calls:
        for turn in scripted.session.call.turns:
            if turn.role is Role.AGENT and turn.latency.e2e_ms is not None:
                overheads.append(turn.latency.e2e_ms - injected_ms)
    return overheads


def main() -> None:
    overheads = asyncio.run(run())
    print(f"turns measured: {len(overheads)} ({CALLS} concurrent calls x {TURNS_PER_CALL})")
    print(
        "injected per turn: end-of-turn delay 350 ms (STT final at 120 ms), "
        "LLM TTFT 250 ms, TTS TTFB 90 ms"
    )
    for q in (50, 95, 99):
        print(f"engine overhead p{q}: {percentile(overheads, q):.2f} ms")
    print(f"engine overhead max: {max(overheads):.2f} ms")
