"""A fake Groq (OpenAI-compatible) chat-completions server: `POST
/openai/v1/chat/completions` streamed as server-sent events, and `GET /openai/v1/models`.

Replies are scripted (text and tool calls), streamed word by word with Groq's chunk format;
the last chunk carries `finish_reason` and `x_groq.usage`. Faults: HTTP statuses for the
next requests (a burst of 429s, 500s, 401), a slow first byte, slow chunks, an error event
or a malformed chunk mid-stream.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from fake_servers.base import LoopbackServer

MODEL = "llama-3.3-70b-versatile"


@dataclass
class ScriptedCompletion:
    text: str = ""
    tool_calls: Sequence[tuple[str, dict[str, object]]] = ()


@dataclass
class GroqFaults:
    statuses: deque[int] = field(default_factory=deque)
    """Answer the next requests with these HTTP statuses, one each (e.g. 429, 429, 500)."""
    retry_after_s: float | None = None
    first_byte_delay_s: float = 0.0
    """Delay before the response headers of every request."""
    chunk_delay_s: float = 0.0
    """Pause before each chunk after the first: a model whose text trickles in."""
    error_after_chunks: int | None = None
    """Send `data: {"error": ...}` after this many chunks (once)."""
    malformed_after_chunks: int | None = None
    """Send a chunk that is not JSON after this many chunks (once)."""


class FakeGroqServer(LoopbackServer):
    def __init__(
        self,
        replies: Sequence[ScriptedCompletion] = (),
        *,
        default_reply: str = "Yes, we are open until five today.",
        api_key: str = "groq-test-key",
        faults: GroqFaults | None = None,
    ) -> None:
        super().__init__()
        self.replies = deque(replies)
        self.default_reply = default_reply
        self.api_key = api_key
        self.faults = faults or GroqFaults()
        self.requests: list[dict[str, Any]] = []
        self.completed = 0
        """Streams that ran to `[DONE]` (not cut off by the client)."""

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/openai/v1/chat/completions", self._completions),
            web.get("/openai/v1/models", self._models),
        ]

    def _refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Invalid API Key", "invalid_api_key")
        if self.faults.statuses:
            status = self.faults.statuses.popleft()
            headers = {}
            if self.faults.retry_after_s is not None:
                headers["retry-after"] = str(self.faults.retry_after_s)
            return _error(status, f"injected {status}", "injected", headers)
        return None

    async def _models(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        await self.notify()
        if self.faults.first_byte_delay_s:
            await asyncio.sleep(self.faults.first_byte_delay_s)
        refused = self._refused(request)
        if refused is not None:
            return refused
        reply = self.replies.popleft() if self.replies else ScriptedCompletion(self.default_reply)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for n, chunk in enumerate(_chunks(reply)):
            if n and self.faults.chunk_delay_s:
                await asyncio.sleep(self.faults.chunk_delay_s)
            if n == self.faults.error_after_chunks:
                self.faults.error_after_chunks = None
                await _send(response, {"error": {"message": "boom", "type": "internal"}})
                return response
            if n == self.faults.malformed_after_chunks:
                self.faults.malformed_after_chunks = None
                await response.write(b"data: {not json\n\n")
                return response
            await _send(response, chunk)
        await response.write(b"data: [DONE]\n\n")
        self.completed += 1
        await self.notify()
        return response


def _chunks(reply: ScriptedCompletion) -> list[dict[str, Any]]:
    words = reply.text.split(" ") if reply.text else []
    deltas: list[dict[str, Any]] = [
        {"content": word if n == 0 else " " + word} for n, word in enumerate(words)
    ]
    if deltas:
        deltas[0]["role"] = "assistant"
    for index, (name, arguments) in enumerate(reply.tool_calls):
        encoded = json.dumps(arguments)
        half = len(encoded) // 2
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": f"call_{index}",
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        )
        for part in (encoded[:half], encoded[half:]):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    chunks = [_chunk(delta, None) for delta in deltas]
    finish = "tool_calls" if reply.tool_calls else "stop"
    last = _chunk({}, finish)
    last["x_groq"] = {
        "id": "req_1",
        "usage": {
            "prompt_tokens": 42,
            "completion_tokens": len(deltas),
            "total_tokens": 42 + len(deltas),
        },
    }
    return [*chunks, last]


def _chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


async def _send(response: web.StreamResponse, payload: dict[str, Any]) -> None:
    await response.write(f"data: {json.dumps(payload)}\n\n".encode())


def _error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    return web.json_response(body, status=status, headers=headers)
