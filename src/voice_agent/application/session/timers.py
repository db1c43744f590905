"""The session's one-shot timers (`Timer`), posting `TimerFired` to the session queue.
Rescheduling or cancelling a timer makes any firing already queued for it stale
(`is_current` says so)."""

from __future__ import annotations

import asyncio

from voice_agent.application.session.inputs import Input, Timer, TimerFired


class Timers:
    def __init__(self, inputs: asyncio.Queue[Input]) -> None:
        self._inputs = inputs
        self._handles: dict[Timer, asyncio.TimerHandle] = {}
        self._generation: dict[Timer, int] = {}

    def schedule(self, timer: Timer, delay_s: float) -> None:
        self.cancel(timer)
        generation = self._generation.get(timer, 0)
        self._handles[timer] = asyncio.get_running_loop().call_later(
            max(0.0, delay_s), self._inputs.put_nowait, TimerFired(timer, generation)
        )

    def cancel(self, timer: Timer) -> None:
        handle = self._handles.pop(timer, None)
        if handle is not None:
            handle.cancel()
        self._generation[timer] = self._generation.get(timer, 0) + 1

    def cancel_all(self) -> None:
        for timer in list(self._handles):
            self.cancel(timer)

    def is_current(self, fired: TimerFired) -> bool:
        current = self._generation.get(fired.timer, 0) == fired.generation
        if current:
            self._handles.pop(fired.timer, None)
        return current
