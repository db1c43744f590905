"""`Foreground`: model work a caller is waiting for runs with the two cores to itself.

The local models share two cores. While Piper renders the first phrase of a reply, llama.cpp
goes on writing the rest of that reply (and perhaps another call's), and the two together
take Piper's first phrase from about 130 ms to about 280 ms (measured, docs/performance.md).
The rest of the reply is not needed until the first phrase has been heard (a second or
more), and the model writes about ten times faster than speech, so it can wait: work on the
caller's critical path (Whisper's transcript, Piper's first phrase) holds the foreground,
and background work (generating tokens) waits for it between steps, within a budget the
background work sets (`wait_clear(limit_s)`), so an overloaded machine, where foreground
work never stops, slows a reply by the budget at most, never by a wait per token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Foreground:
    """`enabled` False makes it a no-op (benchmarks compare the two)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._holders = 0
        self._changed = threading.Condition()
        self.yields = 0
        """Times background work found the foreground busy and waited (benches read it)."""

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Run the block as foreground work (any thread; holders may overlap)."""
        with self._changed:
            self._holders += 1
        try:
            yield
        finally:
            with self._changed:
                self._holders -= 1
                self._changed.notify_all()

    @property
    def busy(self) -> bool:
        return self._holders > 0

    def wait_clear(self, limit_s: float) -> float:
        """Called by background work between steps: return at once if no foreground work
        runs, else when it ends or after `limit_s`. Returns the seconds waited."""
        with self._changed:
            if self._holders == 0 or limit_s <= 0 or not self.enabled:
                return 0.0
            self.yields += 1
            started = time.monotonic()
            self._changed.wait_for(lambda: self._holders == 0, timeout=limit_s)
            return time.monotonic() - started
