"""Text that can be read again from the start: a retried or fallback synthesis must speak
the whole reply, the phrases its failed attempt had already consumed and those still to
come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from typing import TypeVar

T = TypeVar("T")


class ReplayableText:
    """Each `replay()` yields every piece seen so far, then the source's live tail. One
    reader at a time (attempts are sequential).

    The source is read in a task of its own, awaited through a shield: a reader cancelled
    while it waits (an attempt given up at the first-audio timeout, whose synthesizer
    cancels the task that feeds it text) leaves that read running for the next reader,
    instead of throwing the cancellation into the source and ending the reply's text.
    `aclose()` ends the read in flight, if any, once no attempt is left."""

    def __init__(self, source: AsyncIterable[str]) -> None:
        self._source = aiter(source)
        self._seen: list[str] = []
        self._exhausted = False
        self._reading: asyncio.Task[None] | None = None

    async def wait_first(self) -> bool:
        """Wait for the first piece (False if there is none). Synthesis budgets start
        here: the time spent waiting for the model's text is not the synthesizer's."""
        while not self._seen and not self._exhausted:
            await self._read_more()
        return bool(self._seen)

    async def replay(self) -> AsyncIterator[str]:
        index = 0
        while True:
            if index < len(self._seen):
                yield self._seen[index]
                index += 1
            elif self._exhausted:
                return
            else:
                await self._read_more()

    async def aclose(self) -> None:
        reading, self._reading = self._reading, None
        if reading is not None and not reading.done():
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _read_more(self) -> None:
        """Until the source gave one more piece or ended."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_one(), name="replayable-text")
        await asyncio.shield(self._reading)

    async def _read_one(self) -> None:
        try:
            self._seen.append(await anext(self._source))
        except StopAsyncIteration:
            self._exhausted = True
        except BaseException:
            self._exhausted = True  # a failed or cancelled source gives nothing more
            raise


async def over_replayable_text(
    text: AsyncIterable[str],
    open_stream: Callable[[ReplayableText], AsyncGenerator[T, None]],
) -> AsyncGenerator[T, None]:
    """Stream what `open_stream` makes of `text` made replayable: nothing when the text is
    empty; the stream is closed (its synthesizer stops reading) before the text is. Close
    this generator explicitly (`contextlib.aclosing`) when leaving it early."""
    replayable = ReplayableText(text)
    try:
        if not await replayable.wait_first():
            return
        events = open_stream(replayable)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()
    finally:
        await replayable.aclose()
