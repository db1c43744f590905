"""A circuit breaker per provider: after repeated failures, stop calling it for a while so
the fallback answers at once instead of after another timeout.

closed -> (failure_threshold consecutive failures) -> open -> (reset_after_s) -> half-open,
where one probe call is let through: success closes the circuit, failure opens it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voice_agent.application.ports.clock import Clock


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """What `/health` and `/metrics` show for one provider."""

    provider: str
    state: BreakerState
    consecutive_failures: int
    total_failures: int
    retry_in_s: float = 0.0
    """While open: seconds until the circuit half-opens and lets a probe call through."""


class CircuitBreaker:
    def __init__(
        self,
        provider: str,
        clock: Clock,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
    ) -> None:
        if failure_threshold < 1 or reset_after_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_after_s > 0")
        self.provider = provider
        self._clock = clock
        self._threshold = failure_threshold
        self._reset_after_s = reset_after_s
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._consecutive = 0
        self._total = 0

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock.now() - self._opened_at >= self._reset_after_s
        ):
            self._state = BreakerState.HALF_OPEN
            self._probe_in_flight = False
        return self._state

    def allow(self) -> bool:
        """May a call go to the provider now? In half-open, only one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def release(self) -> None:
        """A call let through ended with neither success nor failure (it was cancelled):
        in half-open, let the next call probe."""
        self._probe_in_flight = False

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._probe_in_flight = False

    def record_failure(self) -> None:
        self._consecutive += 1
        self._total += 1
        if self.state is BreakerState.HALF_OPEN or self._consecutive >= self._threshold:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock.now()
            self._probe_in_flight = False

    def snapshot(self) -> BreakerSnapshot:
        return BreakerSnapshot(
            self.provider, self.state, self._consecutive, self._total, self.retry_in_s()
        )

    def retry_in_s(self) -> float:
        """While open: seconds until a probe call is let through; 0 otherwise."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self._reset_after_s - self._clock.now())


class BreakerBoard:
    """All breakers of a process, one per provider name, for health and metrics."""

    def __init__(
        self, clock: Clock, *, failure_threshold: int = 5, reset_after_s: float = 30.0
    ) -> None:
        self._clock = clock
        self._threshold = failure_threshold
        self._reset_after_s = reset_after_s
        self._breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, provider: str) -> CircuitBreaker:
        if provider not in self._breakers:
            self._breakers[provider] = CircuitBreaker(
                provider,
                self._clock,
                failure_threshold=self._threshold,
                reset_after_s=self._reset_after_s,
            )
        return self._breakers[provider]

    def snapshot(self) -> list[BreakerSnapshot]:
        return [b.snapshot() for _, b in sorted(self._breakers.items())]
