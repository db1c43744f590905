"""The web phone's line (`WebSocketCallTransport`) passes the transport contract, driven
from the client's end of an in-memory WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.contract.transport_contract import CallTransportContract
from tests.unit.test_web_transport import MemorySocket
from voice_agent.adapters.audio.signal import rms
from voice_agent.adapters.web.transport import SAMPLE_RATE, WebSocketCallTransport
from voice_agent.domain.audio import AudioChunk

FRAME_S = 0.02


class WebCaller:
    """The browser: sends audio in real-time frames and control messages, hears frames."""

    def __init__(self, transport: WebSocketCallTransport, socket: MemorySocket) -> None:
        self._transport = transport
        self._socket = socket

    @property
    def transport(self) -> WebSocketCallTransport:
        return self._transport

    async def speak(self, audio: AudioChunk) -> None:
        for frame in audio.split(FRAME_S):
            self._socket.client_sends(frame.pcm)
            await asyncio.sleep(frame.duration)

    async def press(self, digit: str) -> None:
        self._socket.client_sends({"type": "dtmf", "digit": digit})

    async def hang_up(self) -> None:
        self._socket.client_sends({"type": "hangup"})

    def heard_seconds(self) -> float:
        frames = (AudioChunk(m, SAMPLE_RATE) for m in self._socket.sent if isinstance(m, bytes))
        return sum(frame.duration for frame in frames if rms(frame) > 0)

    def closed_for(self) -> str | None:
        ended = [c["reason"] for c in self._socket.controls if c["type"] == "ended"]
        assert len(ended) <= 1, ended
        return ended[0] if ended else None


@pytest.fixture
async def line() -> AsyncIterator[WebCaller]:
    socket = MemorySocket()
    transport = WebSocketCallTransport(socket)
    socket.client_sends({"type": "start"})
    await transport.open()
    yield WebCaller(transport, socket)
    await transport.close("ended")


class TestWebSocketCallTransport(CallTransportContract):
    pass
