"""Text that can be read again from the start: a retried synthesis must speak the phrases
its failed attempt had already consumed."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


class ReplayableText:
    """Each `replay()` yields every piece seen so far, then goes on reading the source.
    One reader at a time (attempts are sequential)."""

    def __init__(self, source: AsyncIterable[str]) -> None:
        self._source = aiter(source)
        self._seen: list[str] = []
        self._exhausted = False

    async def wait_first(self) -> bool:
        """Wait for the first piece (False if there is none). Synthesis budgets start
        here: the time spent waiting for the model's text is not the synthesizer's."""
        if self._seen:
            return True
        if self._exhausted:
            return False
        try:
            self._seen.append(await anext(self._source))
        except StopAsyncIteration:
            self._exhausted = True
            return False
        return True

    async def replay(self) -> AsyncIterator[str]:
        index = 0
        while True:
            if index < len(self._seen):
                yield self._seen[index]
                index += 1
                continue
            if self._exhausted:
                return
            try:
                piece = await anext(self._source)
            except StopAsyncIteration:
                self._exhausted = True
                return
            self._seen.append(piece)
