from collections.abc import AsyncIterator

import pytest

from tests.contract.transport_contract import CallTransportContract
from voice_agent.adapters.audio.signal import rms
from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.domain.audio import AudioChunk


class InMemoryCaller:
    def __init__(self, transport: InMemoryCallTransport) -> None:
        self._transport = transport

    @property
    def transport(self) -> InMemoryCallTransport:
        return self._transport

    async def speak(self, audio: AudioChunk) -> None:
        self._transport.caller_speaks(audio.duration)

    async def press(self, digit: str) -> None:
        self._transport.caller_presses(digit)

    async def hang_up(self) -> None:
        self._transport.caller_hangs_up()

    def heard_seconds(self) -> float:
        return sum(chunk.duration for _, chunk in self._transport.record.played if rms(chunk))

    def closed_for(self) -> str | None:
        return self._transport.record.closed_for


@pytest.fixture
async def line() -> AsyncIterator[InMemoryCaller]:
    transport = InMemoryCallTransport()
    yield InMemoryCaller(transport)
    await transport.close()


class TestInMemoryCallTransport(CallTransportContract):
    pass


async def test_the_keys_the_agent_presses_are_recorded(line: InMemoryCaller) -> None:
    await line.transport.send_dtmf("12#")
    assert line.transport.record.sent_dtmf == ["12#"]
