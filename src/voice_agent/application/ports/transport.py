"""The phone line: caller audio in, agent audio out, call control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from voice_agent.domain.audio import AudioChunk


@dataclass(frozen=True, slots=True)
class DtmfPressed:
    digit: str


TransportEvent = DtmfPressed


NOT_ANSWERED = "not_answered"
"""The reason a line is closed with when `open` failed."""


class LineNotAnswered(ConnectionError):
    """The line could not be answered: the caller left, or never started the call, or broke
    the line's protocol while it was being answered (the caller has been told which)."""


class TransferOutcome(Enum):
    """Why a transfer did not happen, as the caller should be told."""

    BUSY = "busy"
    """The destination is busy (SIP 486, 600)."""
    DECLINED = "declined"
    """The destination refused the call (SIP 603, 403)."""
    NO_ANSWER = "no_answer"
    """Nobody answered before the ringing timeout (SIP 408, 480, 487, or our own timeout)."""
    FAILED = "failed"
    """Anything else: unknown destination, the line or the provider failed."""


class TransferFailed(Exception):
    """`CallTransport.transfer` could not hand the caller over; the caller is still on the
    line. `detail` is for logs (no secrets, numbers masked by the logger)."""

    def __init__(self, outcome: TransferOutcome, detail: str) -> None:
        super().__init__(f"transfer {outcome.value}: {detail}")
        self.outcome = outcome
        self.detail = detail


class CallTransport(Protocol):
    """One call's line: `open` answers it, `close` releases it; in between, the call.

    Agent audio is queued by `play()` and played out in real time by the transport; the
    engine learns what the caller has heard from `played_seconds`, which counts agent audio
    actually played out (not merely queued) since the call began.
    """

    async def open(self) -> None:
        """Answer the line; returns once the caller is connected and audio can flow.
        Raises `LineNotAnswered` if that does not happen (within the line's own timeout)."""
        ...

    async def close(self, reason: str, message: str | None = None) -> None:
        """Release the line, answered or not: tell the caller's side why (`reason`: the
        call's end reason, or why the line was refused, e.g. `busy`; `message`: a sentence
        for a person, when there is one), stop playout and every task of the line.
        Idempotent; the first reason given is the one the caller's side gets."""
        ...

    @property
    def caller_number(self) -> str | None: ...

    @property
    def input_sample_rate(self) -> int:
        """Rate of the frames `audio_frames()` yields."""
        ...

    @property
    def output_sample_rate(self) -> int:
        """Rate `play()` expects."""
        ...

    def audio_frames(self) -> AsyncIterator[AudioChunk]:
        """Caller audio in real time (typically 20 ms frames). Ends when the caller hangs up."""
        ...

    def events(self) -> AsyncIterator[TransportEvent]:
        """DTMF and other in-call signals. Ends with the call."""
        ...

    async def play(self, chunk: AudioChunk) -> None:
        """Queue agent audio for playout; returns once queued, not once played."""
        ...

    async def clear_audio(self) -> None:
        """Drop every queued, not yet played sample (barge-in)."""
        ...

    async def wait_played_out(self) -> None:
        """Return once every queued sample has been played."""
        ...

    @property
    def played_seconds(self) -> float:
        """Agent audio played out to the caller since the call began."""
        ...

    async def hang_up(self) -> None: ...

    async def transfer(self, destination: str) -> None:
        """Hand the caller to `destination` (e.g. "tel:+15550100"); returns once the caller
        has been handed over. Raises `TransferFailed` (the caller still on the line) when the
        destination is busy, declines, does not answer or cannot be reached."""
        ...

    async def send_dtmf(self, digits: str) -> None:
        """Press `digits` (each one of 0-9 * # A-D) towards the caller's side, in order;
        returns once all are sent. Raises `ValueError` naming the first invalid digit,
        before sending any."""
        ...
