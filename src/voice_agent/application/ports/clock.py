"""Time, injected so that tests and scripted calls can fast-forward it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds, for measuring durations and latencies."""
        ...

    def wall(self) -> datetime:
        """Timezone-aware wall-clock time, for timestamps that get stored."""
        ...

    async def sleep(self, seconds: float) -> None: ...
