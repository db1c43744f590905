"""A fake Deepgram live-transcription server (`GET /v1/listen`, websocket).

Recognition is scripted: any non-silent audio counts as speech and each utterance is
"recognized" as the next transcript of the script. Times are audio times (derived from the
bytes received at the `sample_rate` of the query), so results do not depend on wall-clock
speed. Messages follow Deepgram's listen v1 wire format exactly.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from fake_servers.base import LoopbackServer, abort
from voice_agent.adapters.audio.signal import rms
from voice_agent.domain.audio import AudioChunk

SPEECH_RMS = 300.0
INTERIM_EVERY_S = 0.3


@dataclass
class DeepgramFaults:
    reject_status: int | None = None
    """Refuse the next `reject_count` handshakes with this HTTP status."""
    reject_count: int = 0
    drop_after_audio_s: float | None = None
    """Abort the TCP connection once a connection has received this much audio..."""
    drops: int = 0
    """...this many times (counted over all connections)."""
    junk_messages: bool = False
    """Send an unknown message type and a malformed frame before the first result."""
    idle_timeout_s: float = 10.0
    """Close with NET-0001 after this long with neither audio nor KeepAlive."""
    close_after_handshake: int = 0
    """Close the next this many connections right after their handshake, before reading
    anything (a socket that dies as soon as it opens)."""


@dataclass
class DeepgramConnection:
    """What one client connection sent: for assertions."""

    query: dict[str, str]
    authorization: str
    audio_bytes: int = 0
    controls: list[str] = field(default_factory=list)
    closed_by_idle_timeout: bool = False
    closed_after_handshake: bool = False


@dataclass
class _Utterance:
    speaking: bool = False
    speech_s: float = 0.0
    silence_s: float = 0.0
    interims_sent: int = 0


class FakeDeepgramServer(LoopbackServer):
    def __init__(
        self,
        transcripts: Sequence[str] = (),
        *,
        default_transcript: str = "hello there",
        api_key: str = "deepgram-test-key",
        faults: DeepgramFaults | None = None,
    ) -> None:
        super().__init__()
        self.transcripts = deque(transcripts)
        self.default_transcript = default_transcript
        self.api_key = api_key
        self.faults = faults or DeepgramFaults()
        self.connections: list[DeepgramConnection] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v1/listen", self._listen)]

    def _next_transcript(self, *, consume: bool) -> str:
        if not self.transcripts:
            return self.default_transcript
        return self.transcripts.popleft() if consume else self.transcripts[0]

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Token {self.api_key}":
            return web.Response(status=401, text='{"err_code":"INVALID_AUTH"}')
        if self.faults.reject_count > 0 and self.faults.reject_status is not None:
            self.faults.reject_count -= 1
            return web.Response(status=self.faults.reject_status, text="unavailable")
        conn = DeepgramConnection(dict(request.query), request.headers["Authorization"])
        self.connections.append(conn)
        if self.faults.close_after_handshake > 0:
            self.faults.close_after_handshake -= 1
            conn.closed_after_handshake = True
        ws = web.WebSocketResponse(compress=False)  # see LoopbackServer
        await ws.prepare(request)
        if conn.closed_after_handshake:
            await ws.close(code=1011, message=b"NET-0000")
            return ws
        await _Session(self, conn, ws, request).run()
        return ws


class _Session:
    def __init__(
        self,
        server: FakeDeepgramServer,
        conn: DeepgramConnection,
        ws: web.WebSocketResponse,
        request: web.Request,
    ) -> None:
        self.server = server
        self.conn = conn
        self.ws = ws
        self.request = request
        self.rate = int(conn.query.get("sample_rate", "16000"))
        self.endpointing_s = int(conn.query.get("endpointing", "300")) / 1000
        self.audio_s = 0.0
        self.utterance = _Utterance()
        self.junk_sent = False

    async def run(self) -> None:
        while True:
            faults = self.server.faults
            try:
                msg = await self.ws.receive(timeout=faults.idle_timeout_s)
            except TimeoutError:
                self.conn.closed_by_idle_timeout = True
                await self.ws.close(code=1011, message=b"NET-0001")
                return
            if msg.type == WSMsgType.BINARY:
                await self._audio(msg.data)
                if (
                    faults.drops > 0
                    and faults.drop_after_audio_s is not None
                    and self.audio_s >= faults.drop_after_audio_s
                ):
                    faults.drops -= 1
                    abort(self.request)
                    return
            elif msg.type == WSMsgType.TEXT:
                kind = json.loads(msg.data).get("type", "")
                self.conn.controls.append(kind)
                await self.server.notify()
                if kind == "Finalize":
                    await self._final(speech_final=False, from_finalize=True)
                elif kind == "CloseStream":
                    await self._send(self._metadata())
                    await self.ws.close()
                    return
            else:
                return

    async def _audio(self, pcm: bytes) -> None:
        self.conn.audio_bytes += len(pcm)
        chunk = AudioChunk(pcm, self.rate)
        seconds = chunk.duration
        self.audio_s += seconds
        u = self.utterance
        if rms(chunk) >= SPEECH_RMS:
            if not u.speaking:
                u.speaking = True
                await self._junk()
                await self._send(
                    {"type": "SpeechStarted", "channel": [0], "timestamp": self.audio_s - seconds}
                )
            u.speech_s += seconds
            u.silence_s = 0.0
            if u.speech_s >= (u.interims_sent + 1) * INTERIM_EVERY_S:
                u.interims_sent += 1
                words = self.server._next_transcript(consume=False).split()
                await self._results(" ".join(words[: u.interims_sent]), is_final=False)
        elif u.speaking:
            u.silence_s += seconds
            if u.silence_s >= self.endpointing_s:
                await self._final(speech_final=True, from_finalize=False)
                await self._send(
                    {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": self.audio_s}
                )

    async def _final(self, *, speech_final: bool, from_finalize: bool) -> None:
        text = self.server._next_transcript(consume=True) if self.utterance.speaking else ""
        self.utterance = _Utterance()
        await self._results(
            text, is_final=True, speech_final=speech_final, from_finalize=from_finalize
        )

    async def _results(
        self, text: str, *, is_final: bool, speech_final: bool = False, from_finalize: bool = False
    ) -> None:
        words = [
            {
                "word": w.lower().strip(".,?!"),
                "start": 0.1,
                "end": 0.5,
                "confidence": 0.99,
                "punctuated_word": w,
            }
            for w in text.split()
        ]
        await self._send(
            {
                "type": "Results",
                "channel_index": [0, 1],
                "duration": 1.0,
                "start": max(0.0, self.audio_s - 1.0),
                "is_final": is_final,
                "speech_final": speech_final,
                "from_finalize": from_finalize,
                "channel": {
                    "alternatives": [{"transcript": text, "confidence": 0.98, "words": words}]
                },
                "metadata": {
                    "request_id": "req-1",
                    "model_info": {"name": "nova-3", "version": "1", "arch": "nova-3"},
                    "model_uuid": "uuid-1",
                },
            }
        )

    async def _junk(self) -> None:
        if self.server.faults.junk_messages and not self.junk_sent:
            self.junk_sent = True
            await self._send({"type": "SomethingNew", "payload": 1})
            await self.ws.send_str("{not json")

    def _metadata(self) -> dict[str, object]:
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": "req-1",
            "sha256": "0" * 64,
            "created": "2026-11-25T00:00:00Z",
            "duration": self.audio_s,
            "channels": 1,
        }

    async def _send(self, message: dict[str, object]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(message))
