"""Helpers shared by the benchmarks."""

from __future__ import annotations

import bisect
import resource
import statistics
from collections.abc import Sequence
from typing import Any

from voice_agent.domain.turn import LatencyBreakdown

QUESTIONS = [
    "Do you have a table for two tonight",
    "Can we sit on the terrace",
    "Is there parking nearby",
    "Do you have vegetarian dishes",
    "Can I bring a birthday cake",
    "What time does the kitchen close",
]


def conversation(
    turns: int, *, reply: str = "Sure thing. We can do that for you."
) -> dict[str, Any]:
    """A scenario dict: `turns` questions, each answered, then the caller hangs up."""
    caller: list[dict[str, Any]] = [
        {"say": QUESTIONS[n % len(QUESTIONS)], "after_reply": 0.4} for n in range(turns)
    ]
    caller.append({"hang_up": True, "after_reply": 0.3})
    return {"caller": caller, "agent": [{"reply": reply} for _ in range(turns)]}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[min(998, int(q * 10) - 1)]


def rss_mb() -> float:
    """Current resident set size in MiB (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def first_at_or_after(times: Sequence[float], moment: float) -> float | None:
    """The first of the ascending `times` at or after `moment`, None if there is none."""
    index = bisect.bisect_left(times, moment)
    return times[index] if index < len(times) else None


def last_before(times: Sequence[float], moment: float) -> float | None:
    """The last of the ascending `times` before `moment`, None if there is none."""
    index = bisect.bisect_left(times, moment)
    return times[index - 1] if index > 0 else None


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """n, p50, p95 and max of latencies in ms (NaN for the percentiles of an empty list)."""
    return {
        "n": len(values_ms),
        "p50_ms": percentile(values_ms, 50),
        "p95_ms": percentile(values_ms, 95),
        "max_ms": max(values_ms) if values_ms else float("nan"),
    }


def paired_extra(base_ms: Sequence[float], other_ms: Sequence[float]) -> dict[str, float]:
    """How much `other` adds over `base`: the differences of their p50 and p95 (the runs are
    not paired turn by turn, so the percentiles are compared, not the turns)."""
    return {
        "extra_p50_ms": percentile(other_ms, 50) - percentile(base_ms, 50),
        "extra_p95_ms": percentile(other_ms, 95) - percentile(base_ms, 95),
    }


def engine_own_ms(latency: LatencyBreakdown, *, preemptive: bool = True) -> float | None:
    """The part of a turn's voice-to-voice latency the providers did not take, from the
    stages the engine measured: with preemptive generation the model starts on the final
    transcript, so the providers' part is max(end of turn, STT final + LLM TTFT) + TTS TTFB;
    without, end of turn + LLM TTFT + TTS TTFB. None when a stage is missing."""
    e2e, eou, llm, tts = latency.e2e_ms, latency.eou_ms, latency.llm_ttft_ms, latency.tts_ttfb_ms
    if e2e is None or eou is None or llm is None or tts is None:
        return None
    if preemptive and latency.stt_ms is not None:
        first_text = max(eou, latency.stt_ms + llm)
    else:
        first_text = eou + llm
    return e2e - first_text - tts
