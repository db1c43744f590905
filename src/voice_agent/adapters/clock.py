"""The event loop's clock: monotonic time that looptime can fast-forward in tests and in
scripted calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class LoopClock:
    """`now()` is the running loop's time; `wall()` is the real UTC time."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
