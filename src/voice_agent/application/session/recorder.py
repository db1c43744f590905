"""Writes a call's records in the background, in order, so that storage never delays what
the caller hears, and each turn is on disk as soon as it completes.

A write that fails with a retryable `ProviderError` (the database locked or unreachable for
a moment) is tried again after the `RetryPolicy`'s delay, a bounded number of times; a write
that still fails is given up (logged, counted) and the writes behind it go on. Every failed
attempt is also reported to `on_failure` as a `StoreWriteFailed` (for the metrics and alerts)."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.errors import ProviderError
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.resilience.retry import NoRetry, RetryPolicy
from voice_agent.domain.call import Call
from voice_agent.domain.events import DomainEvent, StoreWriteFailed
from voice_agent.domain.turn import Turn

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[None]]
Operation = tuple[str, Write]
"""A write and the repository operation it performs (its name for metrics)."""


class CallRecorder:
    def __init__(
        self,
        repository: CallRepository,
        call_id: str,
        *,
        clock: Clock,
        retry: RetryPolicy | None = None,
        max_events: int = 500,
        on_failure: Callable[[StoreWriteFailed], None] | None = None,
    ) -> None:
        self._repository = repository
        self._call_id = call_id
        self._clock = clock
        self._retry: RetryPolicy = retry or NoRetry()
        self.retries = 0
        self._on_failure = on_failure or (lambda _: None)
        self._writes: asyncio.Queue[Operation | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        self._events_left = max_events
        self.dropped_events = 0
        """Events beyond `max_events`, not stored."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._drain(), name="call-recorder")

    def save_call(self, call: Call) -> None:
        snapshot = copy.copy(call)
        snapshot.turns = []
        self._writes.put_nowait(("save_call", lambda: self._repository.save_call(snapshot)))

    def save_turn(self, turn: Turn) -> None:
        snapshot = copy.copy(turn)
        self._writes.put_nowait(
            ("save_turn", lambda: self._repository.save_turn(self._call_id, snapshot))
        )

    def record_event(self, event: DomainEvent) -> None:
        if self._events_left <= 0:
            if not self.dropped_events:
                log.warning(
                    "call %s: event limit reached, later events are not stored", self._call_id
                )
            self.dropped_events += 1
            return
        self._events_left -= 1
        self._writes.put_nowait(("record_event", lambda: self._repository.record_event(event)))

    async def close(self) -> None:
        """Finish every pending write (the call's final state included)."""
        self._writes.put_nowait(None)
        if self._task is not None:
            await self._task

    async def _drain(self) -> None:
        while (operation := await self._writes.get()) is not None:
            try:
                await self._attempt(*operation)
            except Exception as error:
                self.failures += 1
                log.exception("could not store call %s", self._call_id)
                self._report(operation[0], error, gave_up=True)

    async def _attempt(self, name: str, write: Write) -> None:
        attempt = 1
        while True:
            try:
                await write()
                return
            except ProviderError as error:
                delay = self._retry.delay_before(attempt + 1, error)
                if delay is None:
                    raise
                log.warning("storing call %s failed (%s); retrying", self._call_id, error)
                self._report(name, error, gave_up=False)
            self.retries += 1
            attempt += 1
            await self._clock.sleep(delay)

    def _report(self, operation: str, error: BaseException, *, gave_up: bool) -> None:
        at = self._clock.wall().timestamp()
        event = StoreWriteFailed(self._call_id, at, operation, type(error).__name__, gave_up)
        try:
            self._on_failure(event)
        except Exception:
            log.exception("reporting a store failure failed")
