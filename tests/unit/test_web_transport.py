"""The web phone's transport over an in-memory socket: the protocol both ways, bad input
rejected with a reason while the call goes on, barge-in clearing the client's buffer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from voice_agent.adapters.audio.signal import tone
from voice_agent.adapters.web.limits import WebPhoneLimits
from voice_agent.adapters.web.transport import WebSocketCallTransport
from voice_agent.application.ports.transport import NOT_ANSWERED, DtmfPressed, LineNotAnswered
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.events import StateChanged, TurnCompleted
from voice_agent.domain.state import ConversationState
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn

pytestmark = pytest.mark.looptime


class MemorySocket:
    """The client's end: `incoming` is what the client sends, `sent` what it received."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self.sent: list[bytes | str] = []
        self.closed = False
        self.changed = asyncio.Event()

    async def receive(self) -> bytes | str | None:
        return await self.incoming.get()

    async def send_bytes(self, data: bytes) -> None:
        self._got(data)

    async def send_text(self, data: str) -> None:
        self._got(data)

    async def close(self, code: int = 1000) -> None:
        self.closed = True

    def _got(self, item: bytes | str) -> None:
        self.sent.append(item)
        self.changed.set()

    def client_sends(self, message: dict[str, Any] | bytes | str) -> None:
        self.incoming.put_nowait(json.dumps(message) if isinstance(message, dict) else message)

    @property
    def controls(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in self.sent if isinstance(m, str)]

    @property
    def audio_bytes(self) -> int:
        return sum(len(m) for m in self.sent if isinstance(m, bytes))

    async def wait_for_controls(self, count: int) -> list[dict[str, Any]]:
        while len(self.controls) < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)
        return self.controls

    async def wait_for(self, kind: str) -> dict[str, Any]:
        while True:
            for control in self.controls:
                if control["type"] == kind:
                    return control
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)


@pytest.fixture
async def line() -> AsyncIterator[tuple[WebSocketCallTransport, MemorySocket]]:
    socket = MemorySocket()
    transport = WebSocketCallTransport(socket)
    socket.client_sends({"type": "start"})
    await transport.open()
    yield transport, socket
    await transport.close("ended")


async def next_frame(transport: WebSocketCallTransport) -> AudioChunk:
    return await asyncio.wait_for(anext(transport.audio_frames()), 5)


async def test_caller_audio_arrives_as_16khz_chunks(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    speech = tone(0.02, 16000)
    socket.client_sends(speech.pcm)
    frame = await next_frame(transport)
    assert frame == AudioChunk(speech.pcm, 16000)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"\x01\x02\x03", "even number of bytes"),
        (bytes(40000), "exceeds"),
        ("{not json", "must be JSON"),
        ('["start"]', '"type" string'),
        ({"type": "dance"}, "unknown message type 'dance'"),
        ({"type": "dtmf", "digit": "x"}, "dtmf digit"),
        ({"type": "start"}, "already started"),
    ],
)
async def test_bad_messages_are_answered_with_a_reason_and_the_call_goes_on(
    line: tuple[WebSocketCallTransport, MemorySocket],
    bad: bytes | str | dict[str, Any],
    reason: str,
) -> None:
    transport, socket = line
    socket.client_sends(bad)
    error = await socket.wait_for("error")
    assert reason in error["message"]
    assert transport.rejected_messages == 1
    good = tone(0.02, 16000)
    socket.client_sends(good.pcm)
    assert (await next_frame(transport)).pcm == good.pcm


async def test_a_call_must_begin_with_start() -> None:
    socket = MemorySocket()
    transport = WebSocketCallTransport(socket)
    socket.client_sends(b"\x00\x00")
    with pytest.raises(LineNotAnswered, match="start"):
        await transport.open()
    await transport.close(NOT_ANSWERED)
    assert socket.controls[0]["type"] == "error"
    assert socket.closed


async def test_dtmf_and_hang_up(line: tuple[WebSocketCallTransport, MemorySocket]) -> None:
    transport, socket = line
    socket.client_sends({"type": "dtmf", "digit": "7"})
    events = transport.events()
    assert await asyncio.wait_for(anext(events), 5) == DtmfPressed("7")
    socket.client_sends({"type": "hangup"})
    assert [f async for f in transport.audio_frames()] == []
    assert [e async for e in events] == []
    assert transport.hung_up_by == "caller"


async def test_keys_the_agent_presses_are_sent_to_the_page_in_order_with_the_audio(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    await transport.play(tone(0.1, 16000))
    await transport.wait_played_out()
    await transport.send_dtmf("12#")
    with pytest.raises(ValueError, match="not a DTMF digit"):
        await transport.send_dtmf("9x")
    await asyncio.sleep(0.1)
    assert isinstance(socket.sent[-2], bytes)
    assert [c for c in socket.controls if c["type"] == "dtmf"] == [
        {"type": "dtmf", "digits": "12#"}
    ]


async def test_a_vanished_client_is_a_caller_hang_up(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    socket.incoming.put_nowait(None)
    assert [f async for f in transport.audio_frames()] == []
    assert transport.hung_up_by == "caller"


async def test_agent_audio_is_paced_out_and_counted_as_played(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    loop = asyncio.get_running_loop()
    started = loop.time()
    await transport.play(tone(0.5, 16000))
    await transport.wait_played_out()
    assert loop.time() - started == pytest.approx(0.5, abs=0.03)
    assert transport.played_seconds == pytest.approx(0.5)
    await asyncio.sleep(0)
    assert socket.audio_bytes == 16000


async def test_barge_in_stops_the_audio_and_tells_the_client_to_flush(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    await transport.play(tone(2.0, 16000))
    await asyncio.sleep(0.3)
    await transport.clear_audio()
    await asyncio.sleep(1.0)
    await socket.wait_for("clear")
    assert transport.played_seconds == pytest.approx(0.3, abs=0.05)
    assert socket.audio_bytes == pytest.approx(0.3 * 32000, abs=0.05 * 32000)


async def test_the_client_sees_turns_latency_and_state(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    now = datetime.now(UTC)
    agent = Turn(Role.AGENT, "We open at eight.", 1, now, latency=LatencyBreakdown(e2e_ms=812.0))
    transport.notify(TurnCompleted("c1", 0.0, Turn(Role.CALLER, "When do you open?", 0, now)))
    transport.notify(TurnCompleted("c1", 0.0, agent))
    transport.notify(
        StateChanged("c1", 0.0, ConversationState.THINKING, ConversationState.SPEAKING)
    )
    await socket.wait_for("state")
    kinds = [(c["type"], c.get("role"), c.get("text")) for c in socket.controls]
    assert kinds == [
        ("transcript", "caller", "When do you open?"),
        ("latency", None, None),
        ("transcript", "agent", "We open at eight."),
        ("state", None, None),
    ]
    assert socket.controls[1]["voice_to_voice_ms"] == 812.0
    assert socket.controls[3]["state"] == "speaking"


async def test_closing_tells_the_client_why(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    await transport.close("caller_hung_up")
    assert socket.controls[-1] == {"type": "ended", "reason": "caller_hung_up"}
    assert socket.closed


# -- hostile clients ------------------------------------------------------------------------


async def open_line(limits: WebPhoneLimits) -> tuple[WebSocketCallTransport, MemorySocket]:
    socket = MemorySocket()
    transport = WebSocketCallTransport(socket, limits=limits)
    socket.client_sends({"type": "start"})
    await transport.open()
    return transport, socket


def other_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


DEEP = "[" * 100000
LONG_NUMBER = '{"type": "dtmf", "digit": ' + "7" * 5000 + "}"


@pytest.mark.parametrize(
    ("bad", "max_control_bytes", "reason"),
    [
        (DEEP, 4096, "exceeds 4096"),
        (LONG_NUMBER, 4096, "exceeds 4096"),
        (DEEP, 1_000_000, "nested too deeply"),
        (LONG_NUMBER, 1_000_000, "too long a number"),
    ],
    ids=["deep-json", "huge-number", "deep-json-parsed", "huge-number-parsed"],
)
async def test_hostile_json_is_refused_and_the_call_goes_on(
    bad: str, max_control_bytes: int, reason: str
) -> None:
    transport, socket = await open_line(WebPhoneLimits(max_control_bytes=max_control_bytes))
    socket.client_sends(bad)
    error = await socket.wait_for("error")
    assert reason in error["message"]
    good = tone(0.02, 16000)
    socket.client_sends(good.pcm)
    assert (await next_frame(transport)).pcm == good.pcm
    await transport.close("ended")


async def test_hostile_json_instead_of_start_leaves_no_task_running() -> None:
    socket = MemorySocket()
    transport = WebSocketCallTransport(socket, limits=WebPhoneLimits(max_control_bytes=10**6))
    socket.client_sends(DEEP)
    with pytest.raises(LineNotAnswered, match="nested too deeply"):
        await transport.open()
    await transport.close(NOT_ANSWERED)
    assert socket.closed
    assert other_tasks() == set()


async def test_errors_quote_only_a_short_prefix_of_what_the_client_sent(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    _, socket = line
    socket.client_sends({"type": "x" * 3000})
    socket.client_sends({"type": "dtmf", "digit": "y" * 3000})
    messages = [c["message"] for c in await socket.wait_for_controls(2)]
    assert all(len(m) < 80 for m in messages), messages
    assert "unknown message type 'xxxx" in messages[0]


async def test_too_many_refused_messages_close_the_call() -> None:
    transport, socket = await open_line(WebPhoneLimits(max_protocol_errors=3))
    for _ in range(5):
        socket.client_sends({"type": "dance"})
    assert [f async for f in transport.audio_frames()] == []
    await transport.close("caller_hung_up")
    errors = [c["message"] for c in socket.controls if c["type"] == "error"]
    assert len(errors) == 4
    assert errors[-1] == "3 messages refused: the call is closed"
    assert socket.controls[-1] == {"type": "ended", "reason": "protocol_errors"}
    assert transport.rejected_messages == 3
    assert socket.closed


async def test_caller_audio_faster_than_real_time_is_dropped_then_the_call_is_closed() -> None:
    limits = WebPhoneLimits(realtime_factor=1.2, audio_burst_s=2.0, max_dropped_audio_s=5.0)
    transport, socket = await open_line(limits)
    started = asyncio.get_running_loop().time()
    frame = bytes(640)  # 20 ms
    received = 0.0

    async def count() -> None:
        nonlocal received
        async for chunk in transport.audio_frames():
            received += chunk.duration

    counting = asyncio.create_task(count())
    for _ in range(150):  # 3 s at once: the first 2 s pass, the rest is dropped
        socket.client_sends(frame)
    await socket.wait_for("error")
    assert socket.controls[-1]["message"] == "caller audio arrives over 1.2x real time: dropping it"
    assert transport.dropped_audio_s == pytest.approx(1.0, abs=0.021)
    for _ in range(100):  # then twice real time for 20 s: 1.2x passes, the rest is dropped
        for _ in range(100):
            socket.client_sends(frame)
        await asyncio.sleep(1.0)
        if transport.closed_for:
            break
    await counting
    await transport.close("ended")
    loop_seconds = asyncio.get_running_loop().time() - started
    assert transport.closed_for == "audio_too_fast"
    assert received <= 2.0 + 1.2 * loop_seconds + 0.02
    assert transport.dropped_audio_s > 5.0
    assert socket.controls[-2]["message"] == (
        "caller audio keeps arriving over 1.2x real time: the call is closed"
    )
    assert socket.controls[-1] == {"type": "ended", "reason": "audio_too_fast"}


async def test_caller_audio_in_real_time_is_never_dropped(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    for _ in range(50):  # the page holds up to 1 s back until `ready`, then sends it at once
        socket.client_sends(bytes(640))
    for _ in range(30 * 50):  # then 30 s in real time
        socket.client_sends(bytes(640))
        await asyncio.sleep(0.02)
    assert transport.dropped_audio_s == 0
    assert socket.controls == []


async def test_key_presses_are_rate_limited(
    line: tuple[WebSocketCallTransport, MemorySocket],
) -> None:
    transport, socket = line
    for _ in range(15):
        socket.client_sends({"type": "dtmf", "digit": "1"})
    events = transport.events()
    pressed = [await asyncio.wait_for(anext(events), 5) for _ in range(10)]
    assert pressed == [DtmfPressed("1")] * 10
    assert {c["message"] for c in await socket.wait_for_controls(5)} == {
        "too many key presses: at most 5 a second"
    }
    await asyncio.sleep(1.0)
    socket.client_sends({"type": "dtmf", "digit": "2"})
    assert await asyncio.wait_for(anext(events), 5) == DtmfPressed("2")


class DeafSocket(MemorySocket):
    """A client that stopped reading: every send blocks forever."""

    async def send_bytes(self, data: bytes) -> None:
        await asyncio.Event().wait()

    async def send_text(self, data: str) -> None:
        await asyncio.Event().wait()


async def test_a_client_that_stops_reading_ends_the_call_and_leaves_no_task() -> None:
    socket = DeafSocket()
    transport = WebSocketCallTransport(socket, limits=WebPhoneLimits(outgoing_frames=50))
    socket.client_sends({"type": "start"})
    await transport.open()
    await transport.play(tone(5.0, 16000))
    assert [f async for f in transport.audio_frames()] == []
    assert transport.closed_for == "client_not_reading"
    async with asyncio.timeout(10):
        await transport.close("ended")
    assert socket.closed
    assert other_tasks() == set()
