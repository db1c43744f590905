"""`Foreground`: background model work waits between steps while a caller waits on other
model work, and never longer than its bound."""

from __future__ import annotations

import threading

from voice_agent.adapters.local.foreground import Foreground


class Holder:
    """A thread holding the foreground until told to let go."""

    def __init__(self, foreground: Foreground) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(foreground,))

    def _run(self, foreground: Foreground) -> None:
        with foreground.hold():
            self.held.set()
            self.release.wait(10)

    def __enter__(self) -> Holder:
        self.thread.start()
        self.held.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(10)


def test_background_work_goes_straight_on_when_nobody_waits() -> None:
    foreground = Foreground()
    assert foreground.wait_clear(10) == 0.0
    assert foreground.yields == 0


def test_background_work_waits_until_the_foreground_work_ends() -> None:
    foreground = Foreground()
    waited: list[float] = []
    with Holder(foreground) as holder:
        background = threading.Thread(target=lambda: waited.append(foreground.wait_clear(10)))
        background.start()
        while foreground.yields == 0:  # the background thread is now parked
            background.join(0.001)
        assert waited == [], "it must not go on while the foreground is held"
        holder.release.set()
        background.join(10)
    assert len(waited) == 1
    assert 0 < waited[0] < 10
    assert not foreground.busy


def test_overlapping_holders_all_count() -> None:
    foreground = Foreground()
    with Holder(foreground), Holder(foreground):
        assert foreground.busy
    assert not foreground.busy


def test_background_work_never_waits_past_its_budget() -> None:
    foreground = Foreground()
    with Holder(foreground):
        assert foreground.wait_clear(0.01) >= 0.01  # returned while still held
        assert foreground.busy
        assert foreground.wait_clear(0.0) == 0.0  # the budget is spent: no wait at all


def test_a_disabled_foreground_never_makes_anyone_wait() -> None:
    foreground = Foreground(enabled=False)
    with Holder(foreground):
        assert foreground.wait_clear(10) == 0.0
