"""The latency budget of a turn stage: how long the caller may wait for its first output."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LatencyBudget:
    first_output_s: float = 1.5
    """From the request to the first event, all retries included. Past it the stage fails
    with `ProviderTimeout` and the fallback (or the apology) takes over."""
    attempt_s: float | None = None
    """One attempt's limit to its first event; defaults to the whole budget."""

    def __post_init__(self) -> None:
        if self.first_output_s <= 0 or (self.attempt_s is not None and self.attempt_s <= 0):
            raise ValueError("latency budgets must be positive")
