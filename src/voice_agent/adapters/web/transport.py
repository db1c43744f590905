"""`WebSocketCallTransport`: a phone line over one WebSocket (the browser web phone, or any
client speaking the protocol documented in the README).

Caller audio arrives as binary frames of PCM16 little-endian mono at 16 kHz; JSON text frames
carry control (`start`, `dtmf`, `hangup`). Agent audio goes back as binary frames of the same
format, paced in real time by `PacedPlayout` so that `played_seconds` tracks what the client is
playing (the client keeps a small jitter buffer, about 60 ms, so the caller hears each frame
that much later). A barge-in drops the server's queue and sends `{"type": "clear"}` so the
client flushes its buffer too. Transcripts, latencies and state changes are pushed as JSON
from the call's domain events (`notify`).

Every connection is held to `WebPhoneLimits`: oversized or malformed control messages are
refused before or while parsing (never raising out of the reader), caller audio faster than
real time is dropped and then the call closed, key presses are rate-limited, a client that
stops reading fills a bounded queue and is taken as gone, and after too many refused messages
the call is closed. Errors quote at most a short prefix of what the client sent.

The transport wraps the narrow `PhoneSocket` interface, not a web framework, so tests drive it
with an in-memory socket and the server adapts Starlette's WebSocket to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from voice_agent.adapters.audio.playout import PacedPlayout
from voice_agent.adapters.event_channel import EventChannel
from voice_agent.adapters.web.limits import TokenBucket, WebPhoneLimits, excerpt
from voice_agent.application.ports.transport import (
    NOT_ANSWERED,
    DtmfPressed,
    LineNotAnswered,
    TransportEvent,
)
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.dtmf import checked_dtmf
from voice_agent.domain.events import (
    CallerInterrupted,
    DomainEvent,
    ProviderFailed,
    StateChanged,
    TurnCompleted,
)
from voice_agent.domain.turn import Role

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MAX_FRAME_BYTES = SAMPLE_RATE * 2  # one second of audio in one frame is already generous
DTMF_DIGITS = frozenset("0123456789*#ABCD")


class PhoneSocket(Protocol):
    """The part of a WebSocket the transport needs."""

    async def receive(self) -> bytes | str | None:
        """The next message (bytes for binary, str for text); None once the peer is gone."""
        ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000) -> None: ...


class ProtocolError(ValueError):
    """A message the protocol does not allow; its text is sent to the client."""


class WebSocketCallTransport:
    def __init__(
        self,
        socket: PhoneSocket,
        *,
        frame_s: float = 0.02,
        limits: WebPhoneLimits = WebPhoneLimits(),  # noqa: B008 (frozen, shared safely)
        start_timeout_s: float = 10.0,
    ) -> None:
        self._socket = socket
        self._limits = limits
        self._start_timeout_s = start_timeout_s
        self._answered = False
        self._closed = False
        self._audio: EventChannel[AudioChunk] = EventChannel(max_items=500)
        """Caller audio; if the engine stalls, the oldest frames go (about 10 s kept)."""
        self._events: EventChannel[TransportEvent] = EventChannel()
        self._outgoing: asyncio.Queue[bytes | str | None] = asyncio.Queue(limits.outgoing_frames)
        self._playout = PacedPlayout(SAMPLE_RATE, self._on_frame, frame_s=frame_s)
        self._ended = asyncio.Event()
        self.hung_up_by: str | None = None
        self.closed_for: str | None = None
        """Why the transport itself ended the call (a limit the client broke), if it did."""
        self.on_limit_broken: Callable[[str], None] | None = None
        """Told the limit's name when the client breaks one and the call is cut off (the
        web phone ends the call as `client_limit`), before the line reports the hang-up."""
        self.rejected_messages = 0
        self.dropped_audio_s = 0.0
        """Caller audio dropped for arriving faster than real time."""
        self._dropping_audio = False
        self._audio_budget: TokenBucket | None = None
        self._dtmf_budget: TokenBucket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    # -- call set-up -----------------------------------------------------------------
    async def open(self) -> None:
        """Wait for the client's `{"type": "start"}` (at most `start_timeout_s`); raises
        `LineNotAnswered` after telling the client why it did not come."""
        self._start_writer()
        try:
            async with asyncio.timeout(self._start_timeout_s):
                await self._wait_for_start()
        except TimeoutError:
            self.send({"type": "error", "message": f"no start within {self._start_timeout_s:g} s"})
            raise LineNotAnswered(f"no start within {self._start_timeout_s:g} s") from None
        now = asyncio.get_running_loop().time()
        limits = self._limits
        self._audio_budget = TokenBucket(limits.realtime_factor, limits.audio_burst_s, now)
        self._dtmf_budget = TokenBucket(limits.dtmf_per_second, limits.dtmf_burst, now)
        self._reader = asyncio.create_task(self._read(), name="phone-reader")
        self._answered = True

    async def _wait_for_start(self) -> None:
        while True:
            message = await self._socket.receive()
            if message is None:
                raise LineNotAnswered("the client left before starting the call")
            try:
                if (
                    isinstance(message, str)
                    and _control(message, self._limits.max_control_bytes).get("type") == "start"
                ):
                    return
                raise ProtocolError('send {"type": "start"} before anything else')
            except ProtocolError as error:
                self.send({"type": "error", "message": str(error)})
                raise LineNotAnswered(str(error)) from None

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="phone-writer")

    def send(self, message: dict[str, Any]) -> None:
        """Queue a JSON control message for the client (sent in order with the audio)."""
        self._enqueue(json.dumps(message))

    def notify(self, event: DomainEvent) -> None:
        """An `EventSink`: the call's events as the client sees them."""
        for message in client_messages(event):
            self.send(message)

    async def close(self, reason: str, message: str | None = None) -> None:
        """Tell the client why the line closed (`message` as an error first, when given; the
        limit it broke instead of `reason`, if it broke one; no `ended` for a line never
        answered: the client was told why), flush what is queued (for at most
        `flush_timeout_s`), close the socket. No task outlives it."""
        if self._closed:
            return
        self._closed = True
        self._start_writer()
        self._end(self.hung_up_by or "agent")
        await self._playout.aclose()
        if message is not None:
            self.send({"type": "error", "message": message})
        if self._answered or reason != NOT_ANSWERED:
            self.send({"type": "ended", "reason": self.closed_for or reason})
        with contextlib.suppress(asyncio.QueueFull):
            self._outgoing.put_nowait(None)
        assert self._writer is not None
        await asyncio.wait({self._writer}, timeout=self._limits.flush_timeout_s)
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._socket.close()

    # -- CallTransport ---------------------------------------------------------------
    @property
    def caller_number(self) -> str | None:
        return None

    @property
    def input_sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def output_sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def played_seconds(self) -> float:
        return self._playout.played_seconds

    @property
    def playout(self) -> PacedPlayout:
        return self._playout

    def audio_frames(self) -> AsyncIterator[AudioChunk]:
        return self._audio.stream()

    def events(self) -> AsyncIterator[TransportEvent]:
        return self._events.stream()

    async def play(self, chunk: AudioChunk) -> None:
        if not self._ended.is_set():
            self._playout.play(chunk)

    async def clear_audio(self) -> None:
        self._playout.clear()
        self.send({"type": "clear"})

    async def wait_played_out(self) -> None:
        await self._playout.wait_played_out()

    async def hang_up(self) -> None:
        self._end("agent")

    async def transfer(self, destination: str) -> None:
        raise NotImplementedError("the web phone cannot transfer calls")

    async def send_dtmf(self, digits: str) -> None:
        """The page gets `{"type": "dtmf", "digits": ...}` in order with the agent's audio
        (the caller is the page: there is no phone network behind it to press keys on)."""
        if not self._ended.is_set():
            self.send({"type": "dtmf", "digits": checked_dtmf(digits)})

    # -- the wire --------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            while not self._ended.is_set():
                message = await self._socket.receive()
                if message is None:
                    self._end("caller")
                    return
                try:
                    self._accept(message)
                except ProtocolError as error:
                    self._refuse(error)
        except Exception as error:  # the socket broke: the caller is gone
            log.info("web phone socket failed: %s", error)
            self._end("caller")

    def _refuse(self, error: ProtocolError) -> None:
        self.rejected_messages += 1
        self.send({"type": "error", "message": str(error)})
        limit = self._limits.max_protocol_errors
        if self.rejected_messages >= limit:
            self._close_for("protocol_errors", f"{limit} messages refused: the call is closed")

    def _close_for(self, reason: str, message: str) -> None:
        """End the call because the client broke a limit, telling it why."""
        if self._ended.is_set():
            return
        log.info("web phone call closed: %s", reason)
        self.send({"type": "error", "message": message})
        self._cut_off(reason)

    def _accept(self, message: bytes | str) -> None:
        if isinstance(message, bytes):
            self._accept_audio(message)
            return
        control = _control(message, self._limits.max_control_bytes)
        kind = control.get("type")
        if kind == "hangup":
            self._end("caller")
        elif kind == "dtmf":
            digit = control.get("digit")
            if not isinstance(digit, str) or digit not in DTMF_DIGITS:
                raise ProtocolError(f"dtmf digit must be one of 0-9 * # A-D, got {excerpt(digit)}")
            if not self._within(self._dtmf_budget, 1.0):
                raise ProtocolError(
                    f"too many key presses: at most {self._limits.dtmf_per_second:g} a second"
                )
            self._events.put(DtmfPressed(digit))
        elif kind == "start":
            raise ProtocolError("the call has already started")
        else:
            raise ProtocolError(f"unknown message type {excerpt(kind)}")

    @staticmethod
    def _within(budget: TokenBucket | None, amount: float) -> bool:
        return budget is None or budget.take(amount, asyncio.get_running_loop().time())

    def _accept_audio(self, pcm: bytes) -> None:
        if len(pcm) % 2:
            raise ProtocolError(
                f"audio frames must be 16-bit PCM (an even number of bytes), got {len(pcm)}"
            )
        if len(pcm) > MAX_FRAME_BYTES:
            raise ProtocolError(f"audio frame of {len(pcm)} bytes exceeds {MAX_FRAME_BYTES}")
        if not pcm:
            return
        seconds = len(pcm) / (SAMPLE_RATE * 2)
        if self._within(self._audio_budget, seconds):
            self._dropping_audio = False
            self._audio.put(AudioChunk(pcm, SAMPLE_RATE))
            return
        self.dropped_audio_s += seconds
        factor = f"over {self._limits.realtime_factor:g}x real time"
        if self.dropped_audio_s > self._limits.max_dropped_audio_s:
            self._close_for(
                "audio_too_fast", f"caller audio keeps arriving {factor}: the call is closed"
            )
        elif not self._dropping_audio:
            self._dropping_audio = True
            self.send({"type": "error", "message": f"caller audio arrives {factor}: dropping it"})

    async def _write(self) -> None:
        while (item := await self._outgoing.get()) is not None:
            try:
                if isinstance(item, bytes):
                    await self._socket.send_bytes(item)
                else:
                    await self._socket.send_text(item)
            except Exception as error:
                log.info("web phone socket failed while sending: %s", error)
                self._end("caller")
                return

    def _on_frame(self, frame: AudioChunk) -> None:
        self._enqueue(frame.pcm)

    def _enqueue(self, item: bytes | str) -> None:
        if self._writer is None or self._writer.done():
            return
        try:
            self._outgoing.put_nowait(item)
        except asyncio.QueueFull:  # the client stopped reading: nobody hears this call
            if not self._ended.is_set():
                log.info("web phone client is not reading: ending the call")
                self._cut_off("client_not_reading")

    def _cut_off(self, reason: str) -> None:
        self.closed_for = reason
        if self.on_limit_broken is not None:
            self.on_limit_broken(reason)
        self._end("caller")

    def _end(self, by: str) -> None:
        if self._ended.is_set():
            return
        self.hung_up_by = by
        self._ended.set()
        self._playout.halt()
        self._audio.close()
        self._events.close()


def _control(message: bytes | str, max_chars: int) -> dict[str, Any]:
    if isinstance(message, bytes):
        raise ProtocolError("expected a JSON control message, got binary audio")
    if len(message) > max_chars:
        raise ProtocolError(f"control message of {len(message)} characters exceeds {max_chars}")
    try:
        control = json.loads(message)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"control messages must be JSON: {error.msg}") from None
    except RecursionError:
        raise ProtocolError("control message is nested too deeply") from None
    except ValueError:  # an integer beyond Python's digit limit for conversion
        raise ProtocolError("control message has too long a number") from None
    if not isinstance(control, dict) or not isinstance(control.get("type"), str):
        raise ProtocolError('control messages must be JSON objects with a "type" string')
    return control


def client_messages(event: DomainEvent) -> list[dict[str, Any]]:
    """What the client is told about a domain event. An answer's latency comes just before
    its transcript, so a client can show it with the turn."""
    match event:
        case TurnCompleted(turn=turn):
            said: dict[str, Any] = {
                "type": "transcript",
                "role": "caller" if turn.role is Role.CALLER else "agent",
                "text": turn.spoken_text,
                "interrupted": turn.interrupted,
            }
            lat = turn.latency
            if turn.role is not Role.AGENT or lat.e2e_ms is None:
                return [said]
            return [
                {
                    "type": "latency",
                    "voice_to_voice_ms": lat.e2e_ms,
                    "eou_ms": lat.eou_ms,
                    "stt_ms": lat.stt_ms,
                    "llm_ttft_ms": lat.llm_ttft_ms,
                    "tts_ttfb_ms": lat.tts_ttfb_ms,
                },
                said,
            ]
        case StateChanged(current=state):
            return [{"type": "state", "state": state.value}]
        case CallerInterrupted(heard_seconds=heard):
            return [{"type": "interrupted", "heard_seconds": round(heard, 3)}]
        case ProviderFailed(stage=stage):
            return [{"type": "error", "message": f"the {stage} stage failed; the agent apologised"}]
        case _:
            return []
