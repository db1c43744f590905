"""A one-reader channel of events that can end normally or with an error: what streaming
sessions hand out from their `events()`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class EventChannel(Generic[T]):
    def __init__(self) -> None:
        self._queue: asyncio.Queue[T | Exception | object] = asyncio.Queue()

    def put(self, item: T) -> None:
        self._queue.put_nowait(item)

    def fail(self, error: Exception) -> None:
        """The reader gets `error` raised after the events already put."""
        self._queue.put_nowait(error)

    def close(self) -> None:
        """The reader's iteration ends after the events already put."""
        self._queue.put_nowait(_END)

    async def stream(self) -> AsyncIterator[T]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
