"""One worker thread per loaded model, shared by every call, with a bounded queue.

CPU-heavy inference must never block the event loop; one thread per model keeps the model's
internal state safe and the machine's two cores from being oversubscribed, and the bound
turns overload into back-pressure (callers wait their turn) instead of an unbounded backlog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class ModelWorker:
    def __init__(self, name: str, *, max_queued: int = 8) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._slots = asyncio.Semaphore(max_queued)

    async def run(self, work: Callable[[], T]) -> T:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
