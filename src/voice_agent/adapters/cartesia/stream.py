"""One reply's context on a shared Cartesia websocket: text is pushed from one task while
events are read, and the SDK's message router is watched (if it dies, the context's queue
would wait forever), and so is the audio (a context that owes audio and stays silent
fails, instead of leaving the caller in dead air)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from cartesia.lib._tts import AsyncTTSResourceConnection, AsyncWebSocketContext
from cartesia.types.websocket_response import WebsocketResponse

from voice_agent.adapters.cartesia.connection import listener_task
from voice_agent.adapters.cartesia.errors import PROVIDER, from_status
from voice_agent.application.ports.errors import (
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)


class ContextStream:
    def __init__(
        self,
        conn: AsyncTTSResourceConnection,
        context: AsyncWebSocketContext,
        first: str,
        rest: AsyncIterator[str],
        *,
        stall_timeout_s: float,
    ) -> None:
        self._conn = conn
        self._context = context
        self._first = first
        self._rest = rest
        self._sender: asyncio.Task[None] | None = None
        self._stall = _StallWatch(stall_timeout_s)
        self.connection_lost = False
        """The socket is unusable (lost, or stalled): the adapter opens a new one."""

    async def events(self) -> AsyncIterator[WebsocketResponse]:
        """The context's events up to `done`. Whoever stops early (closes this generator
        or cancels its reader) must then call `stop`."""
        await self._context.push(self._first)
        self._stall.text_sent()
        self._sender = asyncio.create_task(self._send_rest(), name="cartesia-send")
        replies = aiter(self._context.receive())
        next_event: asyncio.Future[WebsocketResponse] | None = None
        try:
            while True:
                next_event = asyncio.ensure_future(anext(replies))
                await self._wait_for(next_event)
                try:
                    event = next_event.result()
                except StopAsyncIteration:
                    return
                if event.type == "error":
                    raise from_status(event.status_code or 500, f"synthesis failed: {event.title}")
                if event.type == "chunk":
                    self._stall.audio_received()
                yield event
                if event.type == "done":
                    return
        finally:
            # The read in flight must not outlive the reply (it would wait on the dropped
            # context's queue forever).
            if next_event is not None and not next_event.done():
                next_event.cancel()
                await asyncio.gather(next_event, return_exceptions=True)
            await replies.aclose()  # type: ignore[attr-defined]

    async def _wait_for(self, next_event: asyncio.Future[WebsocketResponse]) -> None:
        """Until `next_event` is in; raises if the sender fails, the socket's message
        router ends, or the stream stalls."""
        assert self._sender is not None
        while not next_event.done():
            listener = listener_task(self._conn)
            watched: set[asyncio.Future[object]] = {next_event}  # type: ignore[arg-type]
            if listener is not None:
                watched.add(listener)  # type: ignore[arg-type]
            if not self._sender.done():
                watched.add(self._sender)  # type: ignore[arg-type]
            done, _ = await asyncio.wait(
                watched, timeout=self._stall.left(), return_when=asyncio.FIRST_COMPLETED
            )
            if self._sender in done:
                if self._sender.cancelled():  # its text source was cancelled under it
                    raise ProviderError(PROVIDER, "reply text cut off", retryable=False)
                if (error := self._sender.exception()) is not None:
                    raise error
            if next_event.done():
                return
            if listener is not None and listener.done():
                self.connection_lost = True
                raise ProviderUnavailable(PROVIDER, "websocket lost mid-reply")
            if self._stall.stalled():
                self.connection_lost = True
                raise ProviderTimeout(
                    PROVIDER, f"no audio for {self._stall.timeout_s:g} s mid-reply"
                )

    async def _send_rest(self) -> None:
        async for piece in self._rest:
            if piece.strip():
                await self._context.push(piece)
                self._stall.text_sent()
        await self._context.no_more_inputs()
        self._stall.input_complete()

    async def stop(self, *, cancel_context: bool) -> None:
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if cancel_context:
            with contextlib.suppress(Exception):
                await self._context.cancel()


class _StallWatch:
    """Audio is owed once text was sent after the last chunk, or all the text was sent and
    `done` has not come. Owed audio that does not come within `timeout_s` of the later of
    the last text and the last chunk is a stall. Waiting for the model's next phrase is not
    (Cartesia has said all it had text for)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._loop = asyncio.get_running_loop()
        self._last_text_at = self._loop.time()
        self._last_audio_at: float | None = None
        self._complete = False

    def text_sent(self) -> None:
        self._last_text_at = self._loop.time()

    def input_complete(self) -> None:
        self.text_sent()
        self._complete = True

    def audio_received(self) -> None:
        self._last_audio_at = self._loop.time()

    def left(self) -> float:
        """Seconds until a stall; while nothing is owed, `timeout_s` (to look again)."""
        if not self._owed():
            return self.timeout_s
        return max(0.0, self._since() + self.timeout_s - self._loop.time())

    def stalled(self) -> bool:
        return self._owed() and self._loop.time() - self._since() >= self.timeout_s

    def _owed(self) -> bool:
        if self._complete or self._last_audio_at is None:
            return True
        return self._last_text_at > self._last_audio_at

    def _since(self) -> float:
        if self._last_audio_at is None:
            return self._last_text_at
        return max(self._last_text_at, self._last_audio_at)
