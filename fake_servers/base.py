"""An aiohttp server on an ephemeral loopback port, as an async context manager."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

from aiohttp import web


class LoopbackServer:
    """Subclasses add routes in `routes()`; `url` / `ws_url` are set once started.

    Websockets refuse permessage-deflate: compressing every small frame on both ends would
    put the fake's CPU cost into what `bench providers` measures as the adapters'."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._changed = asyncio.Condition()

    async def notify(self) -> None:
        """Wake `wait_until` callers: the server's recorded state changed."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Wait for the recorded state to satisfy `predicate` (no polling)."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(predicate)

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def abort(request: web.Request) -> None:
    """Drop the TCP connection without a close handshake (a network failure)."""
    if request.transport is not None:
        request.transport.abort()
