"""A web phone client speaking the documented WebSocket protocol, for the end-to-end tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from voice_agent.domain.audio import AudioChunk

FRAME_BYTES = 640  # 20 ms at 16 kHz, 16-bit mono
WAIT_S = 60.0


class PhoneClient:
    """A web phone client: a microphone that sends a 20 ms frame every 20 ms (speech when
    given some, silence otherwise), and a record of everything the server sent."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.controls: list[dict[str, Any]] = []
        self.audio_bytes = 0
        self._speech = bytearray()
        self._changed = asyncio.Condition()

    def say(self, audio: AudioChunk) -> None:
        assert audio.sample_rate == 16000
        self._speech += audio.pcm

    @property
    def speaking(self) -> bool:
        return bool(self._speech)

    async def microphone(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self.ws.closed:
            frame = bytes(self._speech[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
            del self._speech[:FRAME_BYTES]
            await self.ws.send_bytes(frame)
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))  # a microphone's real-time pace

    async def listen(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.controls.append(json.loads(message.data))
            elif message.type == aiohttp.WSMsgType.BINARY:
                self.audio_bytes += len(message.data)
            async with self._changed:
                self._changed.notify_all()

    async def wait_until(self, what: str, condition: Callable[[], bool]) -> None:
        try:
            async with asyncio.timeout(WAIT_S), self._changed:
                await self._changed.wait_for(condition)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; got {self.controls}") from None

    def of(self, kind: str, **fields: object) -> list[dict[str, Any]]:
        return [
            c
            for c in self.controls
            if c["type"] == kind and all(c.get(k) == v for k, v in fields.items())
        ]

    async def hang_up(self) -> None:
        await self.ws.send_str(json.dumps({"type": "hangup"}))
        await self.wait_until("the call to end", lambda: bool(self.of("ended")))


@asynccontextmanager
async def phone_call(ws_url: str) -> AsyncIterator[PhoneClient]:
    """A call started (`ready` received) with the microphone running."""
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        client = PhoneClient(ws)
        listening = asyncio.create_task(client.listen())
        await ws.send_str(json.dumps({"type": "start"}))
        await client.wait_until("ready", lambda: bool(client.of("ready")))
        microphone = asyncio.create_task(client.microphone())
        try:
            yield client
        finally:
            await ws.close()
            for task in (microphone, listening):
                task.cancel()
            await asyncio.gather(microphone, listening, return_exceptions=True)


def agent_turns(client: PhoneClient) -> list[dict[str, Any]]:
    return client.of("transcript", role="agent")
