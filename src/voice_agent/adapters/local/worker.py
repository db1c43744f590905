"""One worker thread per loaded model, shared by every call, with a bounded queue.

CPU-heavy inference must never block the event loop; one thread per model keeps the model's
internal state safe and the machine's two cores from being oversubscribed, and the bound
turns overload into back-pressure (callers wait their turn) instead of an unbounded backlog.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """What `/health` shows for a model: is its thread there, how far behind is it."""

    name: str
    alive: bool
    max_queued: int
    waiting: int
    """Jobs accepted but not started (beyond `max_queued`, callers wait for a slot)."""
    running_for_s: float | None
    """How long the job in the thread has been running; None when idle."""


class ModelWorker:
    def __init__(self, name: str, *, max_queued: int = 8) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._slots = asyncio.Semaphore(max_queued)
        self._max_queued = max_queued
        self._pending = 0
        self._running_since: float | None = None
        self._closed = False

    async def run(self, work: Callable[[], T]) -> T:
        self._pending += 1
        try:
            async with self._slots:
                return await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._timed, work
                )
        finally:
            self._pending -= 1

    def _timed(self, work: Callable[[], T]) -> T:
        self._running_since = time.monotonic()
        try:
            return work()
        finally:
            self._running_since = None

    def status(self) -> WorkerStatus:
        since = self._running_since
        running_for = None if since is None else time.monotonic() - since
        return WorkerStatus(
            name=self.name,
            alive=not self._closed,
            max_queued=self._max_queued,
            waiting=max(0, self._pending - (0 if running_for is None else 1)),
            running_for_s=running_for,
        )

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
