"""A one-reader channel of events that can end normally or with an error: what streaming
sessions hand out from their `events()`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class EventChannel(Generic[T]):
    """Unbounded by default; with `max_items`, a reader that falls behind loses the oldest
    items, never the newest nor the end (live audio: late is worse than lost)."""

    def __init__(self, max_items: int = 0) -> None:
        self._queue: asyncio.Queue[T | Exception | object] = asyncio.Queue(max_items)
        self._ended = False
        self.dropped = 0

    def put(self, item: T) -> None:
        self._push(item)

    def fail(self, error: Exception) -> None:
        """The reader gets `error` raised after the events already put."""
        self._push(error)

    def close(self) -> None:
        """The reader's iteration ends after the events already put."""
        self._push(_END)

    def _push(self, item: T | Exception | object) -> None:
        if self._ended:
            return  # after the end nothing is read: kept, it could push the end out
        self._ended = item is _END or isinstance(item, Exception)
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    async def stream(self) -> AsyncIterator[T]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
