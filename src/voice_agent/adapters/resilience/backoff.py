"""`RetryPolicy` with tenacity's exponential backoff and jitter."""

from __future__ import annotations

import tenacity

from voice_agent.application.ports.errors import ProviderError


class BackoffRetry:
    """Up to `max_attempts` attempts in all; waits grow from `initial_s` (doubling, capped
    at `max_s`) plus up to `jitter_s` of random jitter, so calls hit by the same outage do
    not all retry at once. Non-retryable errors (bad credentials) are never retried."""

    def __init__(
        self,
        *,
        max_attempts: int = 3,
        initial_s: float = 0.1,
        max_s: float = 1.0,
        jitter_s: float = 0.1,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self._wait = tenacity.wait_exponential_jitter(
            multiplier=initial_s, max=max_s, jitter=jitter_s
        )
        self._stop = tenacity.stop_after_attempt(max_attempts)
        self._retrying = tenacity.AsyncRetrying()

    def delay_before(self, attempt: int, error: ProviderError) -> float | None:
        if not error.retryable:
            return None
        state = tenacity.RetryCallState(self._retrying, fn=None, args=(), kwargs={})
        state.attempt_number = attempt - 1
        if self._stop(state):
            return None
        return float(self._wait(state))
