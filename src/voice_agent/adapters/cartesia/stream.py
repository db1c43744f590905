"""One reply's context on a shared Cartesia websocket: text is pushed from one task while
events are read, and the SDK's message router is watched (if it dies, the context's queue
would wait forever)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from cartesia.lib._tts import AsyncTTSResourceConnection, AsyncWebSocketContext
from cartesia.types.websocket_response import WebsocketResponse

from voice_agent.adapters.cartesia.connection import listener_task
from voice_agent.adapters.cartesia.errors import PROVIDER, from_status
from voice_agent.application.ports.errors import ProviderUnavailable


class ContextStream:
    def __init__(
        self,
        conn: AsyncTTSResourceConnection,
        context: AsyncWebSocketContext,
        first: str,
        rest: AsyncIterator[str],
    ) -> None:
        self._conn = conn
        self._context = context
        self._first = first
        self._rest = rest
        self._sender: asyncio.Task[None] | None = None
        self.connection_lost = False

    async def events(self) -> AsyncIterator[WebsocketResponse]:
        await self._context.push(self._first)
        self._sender = asyncio.create_task(self._send_rest(), name="cartesia-send")
        replies = aiter(self._context.receive())
        while True:
            listener = listener_task(self._conn)
            next_event = asyncio.ensure_future(anext(replies))
            watched: set[asyncio.Future[object]] = {next_event}  # type: ignore[arg-type]
            if listener is not None:
                watched.add(listener)  # type: ignore[arg-type]
            if not self._sender.done():
                watched.add(self._sender)  # type: ignore[arg-type]
            while not next_event.done():
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if self._sender in done:
                    watched.discard(self._sender)
                    if self._sender.exception() is not None:
                        next_event.cancel()
                        raise self._sender.exception()  # type: ignore[misc]
                if listener is not None and listener in done and not next_event.done():
                    next_event.cancel()
                    self.connection_lost = True
                    raise ProviderUnavailable(PROVIDER, "websocket lost mid-reply")
            try:
                event = next_event.result()
            except StopAsyncIteration:
                return
            if event.type == "error":
                raise from_status(event.status_code or 500, f"synthesis failed: {event.title}")
            yield event
            if event.type == "done":
                return

    async def _send_rest(self) -> None:
        async for piece in self._rest:
            if piece.strip():
                await self._context.push(piece)
        await self._context.no_more_inputs()

    async def stop(self, *, cancel_context: bool) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(BaseException):
                await self._sender
        if cancel_context:
            with contextlib.suppress(Exception):
                await self._context.cancel()
