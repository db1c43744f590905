"""A fake Cartesia TTS server: `GET /tts/websocket` (contexts, continuations, timestamps,
cancel) and `POST /tts/bytes`, in Cartesia's wire format.

"Speech" is a tone of `SECONDS_PER_WORD` per word at the requested rate (pcm_s16le), sent
one chunk per word, with a `timestamps` message per transcript piece whose times run from
the context's first sample. Faults: handshake refusals, a slow first chunk, an error
message, a dropped socket or a stall after N chunks, unknown message types.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from fake_servers.base import LoopbackServer, abort
from voice_agent.adapters.audio.signal import tone

SECONDS_PER_WORD = 0.2
RATES = {8000, 16000, 22050, 24000, 44100, 48000}


@dataclass
class CartesiaFaults:
    reject_status: int | None = None
    """Refuse the next `reject_count` websocket handshakes (not `/tts/bytes`)."""
    reject_count: int = 0
    first_chunk_delay_s: float = 0.0
    error_after_chunks: int | None = None
    """Answer a context with an `error` message after this many chunks (once)."""
    error_on_text: str | None = None
    """Only text containing this fails with `error_after_chunks` (None: any text)."""
    drop_after_chunks: int | None = None
    """Abort the TCP connection after this many chunks (once)."""
    stall_after_chunks: int | None = None
    """Send nothing more for a context after this many of its chunks (no chunk, no
    `done`), while the socket stays open: a stream that stalls (once)."""
    unknown_messages: bool = False
    """Send a message of an unknown type for every context, before its audio."""


@dataclass
class CartesiaConnection:
    headers: dict[str, str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


@dataclass
class _Context:
    elapsed_s: float = 0.0
    chunks: int = 0
    cancelled: bool = False
    stalled: bool = False


class FakeCartesiaServer(LoopbackServer):
    def __init__(
        self, *, api_key: str = "cartesia-test-key", faults: CartesiaFaults | None = None
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.faults = faults or CartesiaFaults()
        self.connections: list[CartesiaConnection] = []
        self.bytes_requests: list[dict[str, Any]] = []
        self.done_contexts: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/tts/websocket", self._websocket), web.post("/tts/bytes", self._bytes)]

    def _refused(self, request: web.Request, *, websocket: bool) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": "Invalid API key"}, status=401)
        if "cartesia-version" not in request.headers:
            return web.json_response({"error": "missing cartesia-version"}, status=400)
        faults = self.faults
        if websocket and faults.reject_count > 0 and faults.reject_status is not None:
            faults.reject_count -= 1
            return web.json_response({"error": "unavailable"}, status=faults.reject_status)
        return None

    async def _bytes(self, request: web.Request) -> web.Response:
        refused = self._refused(request, websocket=False)
        if refused is not None:
            return refused
        body = await request.json()
        self.bytes_requests.append(body)
        rate = body["output_format"]["sample_rate"]
        words = body["transcript"].split()
        pcm = b"".join(tone(SECONDS_PER_WORD, rate).pcm for _ in words)
        return web.Response(body=pcm, content_type="application/octet-stream")

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        refused = self._refused(request, websocket=True)
        if refused is not None:
            return refused
        conn = CartesiaConnection(dict(request.headers))
        self.connections.append(conn)
        ws = web.WebSocketResponse(compress=False)  # see LoopbackServer
        await ws.prepare(request)
        contexts: dict[str, _Context] = {}
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            context_id = data["context_id"]
            if data.get("cancel"):
                conn.cancelled.append(context_id)
                contexts.setdefault(context_id, _Context()).cancelled = True
                await self.notify()
                continue
            conn.requests.append(data)
            context = contexts.setdefault(context_id, _Context())
            if context.cancelled or context.stalled:
                continue
            if not await self._generate(request, ws, context_id, context, data):
                break
        return ws

    async def _generate(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        context_id: str,
        context: _Context,
        data: dict[str, Any],
    ) -> bool:
        """Answer one generation request; False once the connection is gone."""
        faults = self.faults
        output = data["output_format"]
        if output.get("encoding") != "pcm_s16le" or output.get("sample_rate") not in RATES:
            await _send(ws, _error(context_id, 400, "unsupported output format"))
            return True
        rate = output["sample_rate"]
        words = data["transcript"].split()
        if words and context.chunks == 0:
            if faults.unknown_messages:
                await _send(ws, {"type": "brand_new_event", "context_id": context_id})
            if faults.first_chunk_delay_s:
                await asyncio.sleep(faults.first_chunk_delay_s)
        if words and data.get("add_timestamps"):
            starts = [context.elapsed_s + n * SECONDS_PER_WORD for n in range(len(words))]
            await _send(
                ws,
                {
                    "type": "timestamps",
                    "context_id": context_id,
                    "status_code": 206,
                    "done": False,
                    "word_timestamps": {
                        "words": words,
                        "start": starts,
                        "end": [s + SECONDS_PER_WORD * 0.9 for s in starts],
                    },
                },
            )
        for _ in words:
            if context.chunks == faults.stall_after_chunks:
                faults.stall_after_chunks = None
                context.stalled = True
                return True
            if context.chunks == faults.drop_after_chunks:
                faults.drop_after_chunks = None
                abort(request)
                return False
            if context.chunks == faults.error_after_chunks and (
                faults.error_on_text is None or faults.error_on_text in data["transcript"]
            ):
                faults.error_after_chunks = None
                await _send(ws, _error(context_id, 500, "synthesis failed"))
                return True
            pcm = tone(SECONDS_PER_WORD, rate).pcm
            context.chunks += 1
            context.elapsed_s += SECONDS_PER_WORD
            await _send(
                ws,
                {
                    "type": "chunk",
                    "context_id": context_id,
                    "data": base64.b64encode(pcm).decode(),
                    "done": False,
                    "status_code": 206,
                    "step_time": 1.0,
                },
            )
        if not data.get("continue", False):
            await _send(
                ws, {"type": "done", "context_id": context_id, "done": True, "status_code": 200}
            )
            self.done_contexts.append(context_id)
            await self.notify()
        return True


def _error(context_id: str, status: int, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "context_id": context_id,
        "done": True,
        "status_code": status,
        "title": "Error",
        "message": message,
    }


async def _send(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    if not ws.closed:
        await ws.send_str(json.dumps(message))
