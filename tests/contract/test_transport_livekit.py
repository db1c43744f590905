"""The LiveKit line (`LiveKitCallTransport`) passes the transport contract on a scripted room
whose caller is a SIP participant."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contract.transport_contract import CallTransportContract
from tests.scripted_room import ScriptedRoom, sip_caller
from voice_agent.adapters.livekit import LiveKitCallTransport
from voice_agent.domain.audio import AudioChunk


class SipCaller:
    def __init__(self, transport: LiveKitCallTransport, room: ScriptedRoom, identity: str) -> None:
        self._transport = transport
        self._room = room
        self._identity = identity

    @property
    def transport(self) -> LiveKitCallTransport:
        return self._transport

    async def speak(self, audio: AudioChunk) -> None:
        await self._room.speak(self._identity, audio)

    async def press(self, digit: str) -> None:
        self._room.press(digit)

    async def hang_up(self) -> None:
        self._room.leave(self._identity)

    def heard_seconds(self) -> float:
        return self._room.agent.heard_seconds()

    def closed_for(self) -> str | None:
        return self._transport.closed_for


@pytest.fixture
async def line() -> AsyncIterator[SipCaller]:
    caller = sip_caller()
    room = ScriptedRoom(present=(caller,))
    transport = LiveKitCallTransport("ws://unused", "unused", room=room)
    await transport.open()
    yield SipCaller(transport, room, caller.identity)
    await transport.close("ended")


class TestLiveKitCallTransport(CallTransportContract):
    pass
