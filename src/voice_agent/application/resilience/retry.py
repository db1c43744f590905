"""When to try a provider again: a port, so the application stays free of tenacity (the
backoff-with-jitter implementation is `voice_agent.adapters.resilience.BackoffRetry`)."""

from __future__ import annotations

from typing import Protocol

from voice_agent.application.ports.errors import ProviderError


class RetryPolicy(Protocol):
    def delay_before(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before attempt number `attempt` (2 for the first retry) after
        `error`, or None to give up. The caller also gives up when the wait would not fit
        in the latency budget."""
        ...


class NoRetry:
    def delay_before(self, attempt: int, error: ProviderError) -> float | None:
        return None
