"""Named one-shot timers that post `TimerFired` to the session queue. Rescheduling or
cancelling a name makes any firing already queued for it stale (`is_current` says so)."""

from __future__ import annotations

import asyncio

from voice_agent.application.session.inputs import Input, TimerFired


class Timers:
    def __init__(self, inputs: asyncio.Queue[Input]) -> None:
        self._inputs = inputs
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._generation: dict[str, int] = {}

    def schedule(self, name: str, delay_s: float) -> None:
        self.cancel(name)
        generation = self._generation.get(name, 0)
        self._handles[name] = asyncio.get_running_loop().call_later(
            max(0.0, delay_s), self._inputs.put_nowait, TimerFired(name, generation)
        )

    def schedule_at(self, name: str, due: float, now: float) -> None:
        self.schedule(name, due - now)

    def cancel(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()
        self._generation[name] = self._generation.get(name, 0) + 1

    def cancel_all(self) -> None:
        for name in list(self._handles):
            self.cancel(name)

    def is_current(self, fired: TimerFired) -> bool:
        current = self._generation.get(fired.name, 0) == fired.generation
        if current:
            self._handles.pop(fired.name, None)
        return current
