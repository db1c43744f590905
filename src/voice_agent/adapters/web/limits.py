"""What one web phone connection may do: message sizes, error counts, the caller's audio rate,
key presses and the server's outgoing queue. A hostile or broken client hits one of these
limits and is told which, instead of billing the recognizer or starving other calls."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebPhoneLimits:
    max_control_bytes: int = 4096
    """A JSON control message longer than this is refused before it is parsed."""
    max_protocol_errors: int = 10
    """Refused messages a call may send; the next one closes it."""
    realtime_factor: float = 1.2
    """Caller audio may arrive at most this much faster than real time ..."""
    audio_burst_s: float = 2.0
    """... plus this much audio at once (the page sends up to 1 s held back before `ready`,
    and a network stall delivers what it held up). Audio beyond it is dropped."""
    max_dropped_audio_s: float = 5.0
    """Caller audio dropped for arriving too fast, over the call, before the call is closed."""
    dtmf_per_second: float = 5.0
    """Sustained key presses per second, with `dtmf_burst` at once; more are refused."""
    dtmf_burst: int = 10
    outgoing_frames: int = 500
    """Messages queued for a client that is not reading (10 s of agent audio); once full the
    client is taken as gone and the call ends."""
    flush_timeout_s: float = 2.0
    """At the end of a call, the longest wait for queued messages to reach the client."""


class TokenBucket:
    """`rate` units per second, at most `capacity` saved up; `take` spends them if there
    are enough. Time comes from the caller (the event loop's clock)."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self._rate = rate
        self._capacity = capacity
        self._level = capacity
        self._at = now

    def take(self, amount: float, now: float) -> bool:
        elapsed = max(0.0, now - self._at)  # a clock that jumps back refills nothing
        self._level = min(self._capacity, self._level + elapsed * self._rate)
        self._at = now
        if amount > self._level + 1e-9:  # spent in small steps: allow for float rounding
            return False
        self._level -= amount
        return True


def excerpt(value: object, limit: int = 24) -> str:
    """A client-supplied value quoted in an error: its repr, cut to a short prefix."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
