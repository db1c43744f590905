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
from voice_agent.entrypoints.scripted.runner import build_scripted_call
from voice_agent.entrypoints.scripted.scenario import parse_scenario

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


async def run(*, preemptive: bool = True) -> tuple[list[float], list[float]]:
    """The engine overhead and the voice-to-voice latency of every answered turn (ms).

    With preemptive generation the model starts on the final transcript, so the injected
    part of voice-to-voice is max(end-of-turn delay, STT final + LLM TTFT) + TTS TTFB;
    without, end-of-turn delay + LLM TTFT + TTS TTFB.
    """
    scenario = parse_scenario(
        {
            **conversation(TURNS_PER_CALL),
            "latency": {**INJECTED, "llm_tokens_per_second": TOKENS_PER_SECOND},
        }
    )
    config = SessionConfig(preemptive_generation=preemptive)
    calls = [
        build_scripted_call(scenario, base=config, keep_played_audio=False) for _ in range(CALLS)
    ]
    await asyncio.gather(*(_after(n * STAGGER_S, c.run()) for n, c in enumerate(calls)))
    eou_ms = config.end_of_turn.min_delay_s * 1000
    overheads: list[float] = []
    e2e: list[float] = []
    for scripted in calls:
        for turn in scripted.call.turns:
            latency = turn.latency
            if turn.role is not Role.AGENT or latency.e2e_ms is None:
                continue
            llm_ms = INJECTED["llm_ttft"] * 1000
            if preemptive and latency.stt_ms is not None:
                # The final transcript's own arrival (the fake STT's delay on the 20 ms
                # frame grid) is the recognizer's, not the engine's.
                first_text_ms = max(eou_ms, latency.stt_ms + llm_ms)
            else:
                first_text_ms = eou_ms + llm_ms
            overheads.append(latency.e2e_ms - first_text_ms - INJECTED["tts_ttfb"] * 1000)
            e2e.append(latency.e2e_ms)
    return overheads, e2e


def main() -> None:
    print(
        f"{CALLS} concurrent calls x {TURNS_PER_CALL} turns; injected per turn: end-of-turn "
        "delay 350 ms (STT final at 120 ms), LLM TTFT 250 ms, TTS TTFB 90 ms"
    )
    for preemptive in (False, True):
        overheads, e2e = asyncio.run(run(preemptive=preemptive))
        label = "preemptive generation " + ("on" if preemptive else "off")
        print(f"{label}: turns measured {len(overheads)}")
        print(
            f"  voice-to-voice p50 {percentile(e2e, 50):.1f} ms, p95 {percentile(e2e, 95):.1f} ms"
        )
        for q in (50, 95, 99):
            print(f"  engine overhead p{q}: {percentile(overheads, q):.2f} ms")
        print(f"  engine overhead max: {max(overheads):.2f} ms")
