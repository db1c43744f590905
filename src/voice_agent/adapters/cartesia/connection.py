"""One websocket per adapter, shared by the replies of all calls (Cartesia multiplexes
contexts on it), reopened when it breaks. The SDK's own reconnection reuses the broken
connection object, so it is not relied on."""

from __future__ import annotations

import asyncio
import contextlib

from cartesia import AsyncCartesia
from cartesia.lib._tts import AsyncTTSResourceConnection
from websockets.protocol import State

from voice_agent.adapters.cartesia.errors import provider_error


class SharedConnection:
    def __init__(self, client: AsyncCartesia, connect_timeout_s: float) -> None:
        self._client = client
        self._timeout = connect_timeout_s
        self._conn: AsyncTTSResourceConnection | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> AsyncTTSResourceConnection:
        async with self._lock:
            if self._conn is not None and not usable(self._conn):
                await self._discard()
            if self._conn is None:
                try:
                    async with asyncio.timeout(self._timeout):
                        self._conn = await self._client.tts.websocket_connect().enter()
                except Exception as exc:
                    raise provider_error(exc) from None
            return self._conn

    async def broken(self, conn: AsyncTTSResourceConnection) -> None:
        """Forget `conn` (it failed); the next `get` opens a new one."""
        async with self._lock:
            if self._conn is conn:
                await self._discard()

    async def aclose(self) -> None:
        async with self._lock:
            await self._discard()

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


def usable(conn: AsyncTTSResourceConnection) -> bool:
    listener = listener_task(conn)
    return conn._connection.state is State.OPEN and not (listener and listener.done())


def listener_task(conn: AsyncTTSResourceConnection) -> asyncio.Task[None] | None:
    """The SDK's task that routes incoming messages to contexts. When it ends (socket lost,
    unparsable message), contexts wait forever: watch it."""
    return conn._processing_task
