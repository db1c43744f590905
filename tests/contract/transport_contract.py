"""The contract every `CallTransport` passes. Subclass and provide a `line` fixture: a
`CallerSide` that drives and observes the caller's end of the connected transport.

The tests run on a fast-forwarded loop (looptime): playout is real-time paced, and the
virtual clock makes that instant and exact.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import pytest

from voice_agent.adapters.audio.signal import tone
from voice_agent.application.ports.transport import CallTransport, DtmfPressed
from voice_agent.domain.audio import AudioChunk

FRAME_TOLERANCE_S = 0.021


class CallerSide(Protocol):
    @property
    def transport(self) -> CallTransport: ...

    async def speak(self, audio: AudioChunk) -> None:
        """Send caller audio (real time) into the transport."""
        ...

    async def press(self, digit: str) -> None: ...

    async def hang_up(self) -> None: ...

    def heard_seconds(self) -> float:
        """Seconds of agent audio that reached the caller so far."""
        ...

    def closed_for(self) -> str | None:
        """The reason the caller's side was given when the line closed (None before)."""
        ...


async def _collect_frames(transport: CallTransport, seconds: float) -> float:
    received = 0.0
    async for frame in transport.audio_frames():
        assert frame.sample_rate == transport.input_sample_rate
        received += frame.duration
        if received >= seconds:
            break
    return received


@pytest.mark.looptime
class CallTransportContract:
    async def test_caller_audio_arrives_in_real_time_frames(self, line: CallerSide) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        collector = asyncio.create_task(_collect_frames(line.transport, 1.0))
        await line.speak(tone(1.0, line.transport.input_sample_rate))
        received = await asyncio.wait_for(collector, 10)
        assert received == pytest.approx(1.0, abs=FRAME_TOLERANCE_S)
        assert loop.time() - started == pytest.approx(1.0, abs=0.1)

    async def test_agent_audio_plays_at_real_time_pace(self, line: CallerSide) -> None:
        transport = line.transport
        loop = asyncio.get_running_loop()
        before = transport.played_seconds
        started = loop.time()
        await transport.play(tone(1.0, transport.output_sample_rate))
        assert transport.played_seconds - before < 0.05, "queued is not played"
        await transport.wait_played_out()
        assert loop.time() - started == pytest.approx(1.0, abs=0.05)
        assert transport.played_seconds - before == pytest.approx(1.0, abs=FRAME_TOLERANCE_S)
        assert line.heard_seconds() == pytest.approx(1.0, abs=FRAME_TOLERANCE_S)

    async def test_clear_audio_drops_what_was_not_played_yet(self, line: CallerSide) -> None:
        transport = line.transport
        await transport.play(tone(3.0, transport.output_sample_rate))
        await asyncio.sleep(0.5)
        await transport.clear_audio()
        await transport.wait_played_out()
        await asyncio.sleep(1.0)
        assert line.heard_seconds() == pytest.approx(0.5, abs=0.06)
        assert transport.played_seconds == pytest.approx(0.5, abs=0.06)

    async def test_audio_played_after_a_clear_is_heard(self, line: CallerSide) -> None:
        transport = line.transport
        await transport.play(tone(1.0, transport.output_sample_rate))
        await asyncio.sleep(0.2)
        await transport.clear_audio()
        await transport.play(tone(0.5, transport.output_sample_rate))
        await transport.wait_played_out()
        assert line.heard_seconds() == pytest.approx(0.7, abs=0.06)

    async def test_dtmf_digits_arrive_as_events(self, line: CallerSide) -> None:
        events = line.transport.events()
        await line.press("5")
        event = await asyncio.wait_for(anext(events), 5)
        assert event == DtmfPressed("5")

    async def test_caller_hang_up_ends_the_audio_stream(self, line: CallerSide) -> None:
        collector = asyncio.create_task(_collect_frames(line.transport, 3600))
        await asyncio.sleep(0.3)
        await line.hang_up()
        received = await asyncio.wait_for(collector, 10)
        assert received < 1.0

    async def test_closing_the_line_tells_the_caller_why_once_and_stops_playout(
        self, line: CallerSide
    ) -> None:
        transport = line.transport
        await transport.play(tone(2.0, transport.output_sample_rate))
        await asyncio.sleep(0.5)
        assert line.closed_for() is None
        await transport.close("completed")
        await transport.close("server_shutdown")
        assert line.closed_for() == "completed"
        heard = line.heard_seconds()
        assert heard == pytest.approx(0.5, abs=0.06)
        await asyncio.sleep(1.0)
        assert line.heard_seconds() == heard

    async def test_send_dtmf_refuses_a_key_that_is_not_on_the_keypad(
        self, line: CallerSide
    ) -> None:
        with pytest.raises(ValueError, match=r"not a DTMF digit: 'x' at position 2 of '12x'"):
            await line.transport.send_dtmf("12x")
        with pytest.raises(ValueError, match="no DTMF digits given"):
            await line.transport.send_dtmf("")
        await line.transport.send_dtmf("0123456789*#ABCD")
