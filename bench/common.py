"""Helpers shared by the benchmarks."""

from __future__ import annotations

import resource
import statistics
from collections.abc import Sequence
from typing import Any

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
