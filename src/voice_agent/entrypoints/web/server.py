"""Running the HTTP server: uvicorn, with calls ended properly when the process is told to
stop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn


class CallEndingServer(uvicorn.Server):
    """On SIGTERM or SIGINT uvicorn closes every WebSocket at once and only then runs the
    app's lifespan shutdown: each call would end as if its caller had hung up. This server
    first calls `end_calls` (on the event loop), so the calls end as `server_shutdown`; the
    WebSocket handlers then store them while uvicorn waits for them (at most
    `timeout_graceful_shutdown`, after which it cancels them)."""

    def __init__(self, config: uvicorn.Config, end_calls: Callable[[], None]) -> None:
        super().__init__(config)
        self._end_calls = end_calls
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit and self._loop is not None:
            # A signal handler interrupts the loop anywhere: hand over, do not act here.
            self._loop.call_soon_threadsafe(self._end_calls)
        super().handle_exit(sig, frame)


def run_server(app: Any, *, host: str, port: int, grace_s: float, **options: Any) -> None:
    """Serve `app` (from `create_server_app`) until SIGTERM/SIGINT."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=max(1, round(grace_s)),
        **options,
    )
    CallEndingServer(config, app.state.end_calls).run()
