"""The one piece of retry logic every stream decorator shares: a stream may be retried,
within the latency budget, only until it has produced its first event (after that the
caller has already heard or been shown output, and a retry would repeat it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.errors import ProviderError, ProviderTimeout, ProviderUnavailable
from voice_agent.application.resilience.breaker import CircuitBreaker
from voice_agent.application.resilience.budget import LatencyBudget
from voice_agent.application.resilience.retry import RetryPolicy

E = TypeVar("E")
T = TypeVar("T")


class StageGuard:
    """Breaker + retry + budget for one provider at one stage."""

    def __init__(
        self,
        provider: str,
        *,
        clock: Clock,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        budget: LatencyBudget,
    ) -> None:
        self.provider = provider
        self._clock = clock
        self.breaker = breaker
        self._retry = retry
        self._budget = budget

    async def stream(self, open_stream: Callable[[], AsyncIterator[E]]) -> AsyncGenerator[E, None]:
        """Events of `open_stream()`, reopened on retryable failures before the first."""
        deadline = self._clock.now() + self._budget.first_output_s
        attempt = 1
        while True:
            self._admit(deadline)
            events = open_stream()
            try:
                async with asyncio.timeout(self._attempt_limit(deadline)):
                    first = await anext(events)
            except StopAsyncIteration:
                self.breaker.record_success()
                return
            except (ProviderError, TimeoutError) as exc:
                await _close(events)
                error = self._failed(exc)
                await self._pause_or_raise(attempt, error, deadline)
                attempt += 1
                continue
            except BaseException:
                self.breaker.release()
                await _close(events)
                raise
            self.breaker.record_success()
            break
        try:
            yield first
            async for event in events:
                yield event
        except ProviderError:
            self.breaker.record_failure()
            raise
        finally:
            await _close(events)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation()` (e.g. opening a session), retried within the budget."""
        deadline = self._clock.now() + self._budget.first_output_s
        attempt = 1
        while True:
            self._admit(deadline)
            try:
                async with asyncio.timeout(self._attempt_limit(deadline)):
                    result = await operation()
            except (ProviderError, TimeoutError) as exc:
                await self._pause_or_raise(attempt, self._failed(exc), deadline)
                attempt += 1
                continue
            except BaseException:
                self.breaker.release()
                raise
            self.breaker.record_success()
            return result

    def _admit(self, deadline: float) -> None:
        if not self.breaker.allow():
            raise ProviderUnavailable(self.provider, "circuit open: not called")
        if deadline - self._clock.now() <= 0:
            raise ProviderTimeout(self.provider, "latency budget spent")

    def _attempt_limit(self, deadline: float) -> float:
        remaining = deadline - self._clock.now()
        limit = self._budget.attempt_s
        return remaining if limit is None else min(limit, remaining)

    def _failed(self, exc: BaseException) -> ProviderError:
        self.breaker.record_failure()
        if isinstance(exc, ProviderError):
            return exc
        return ProviderTimeout(self.provider, "no first output within the latency budget")

    async def _pause_or_raise(self, attempt: int, error: ProviderError, deadline: float) -> None:
        delay = self._retry.delay_before(attempt + 1, error) if error.retryable else None
        if delay is None or self._clock.now() + delay >= deadline:
            raise error
        await self._clock.sleep(delay)


async def _close(events: AsyncIterator[object]) -> None:
    closer = getattr(events, "aclose", None)
    if closer is not None:
        with contextlib.suppress(Exception):
            await closer()
