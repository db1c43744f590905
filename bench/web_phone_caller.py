"""The phone caller of `python -m bench livekit` on the web phone: the documented WebSocket
protocol (`{"type": "start"}`, then 16 kHz 16-bit mono frames both ways), against
`create_server_app` served by uvicorn in this process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import uvicorn

from bench.caller import Caller
from voice_agent.entrypoints.bootstrap.container import Container
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.web.app import create_server_app

WEB_PHONE_RATE = 16_000
READY_S = 30.0


class WebPhoneCaller(Caller):
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        super().__init__(WEB_PHONE_RATE)
        self.ws = ws

    async def send_frame(self, pcm: bytes) -> None:
        await self.ws.send_bytes(pcm)

    async def listen(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                await self.heard(np.frombuffer(message.data, dtype=np.int16))


@contextlib.asynccontextmanager
async def web_phone_server(settings: Settings, container: Container) -> AsyncIterator[str]:
    """`voice-agent serve`'s app on a free loopback port; yields the web phone's ws:// URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_server_app(settings, container=container)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(READY_S):
            while True:
                if server.started:
                    break
                if serving.done():
                    serving.result()  # it could not start: its error
                    raise RuntimeError("the web phone server stopped before it started")
                await asyncio.sleep(0.05)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await serving


@contextlib.asynccontextmanager
async def web_phone_call(ws_url: str) -> AsyncIterator[WebPhoneCaller]:
    """A call started, its microphone running and its audio heard."""
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        caller = WebPhoneCaller(ws)
        await ws.send_str(json.dumps({"type": "start"}))
        caller.in_background(caller.listen())
        caller.start_microphone()
        try:
            yield caller
        finally:
            await ws.close()
            await caller.stop_tasks()
