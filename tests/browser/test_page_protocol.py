"""The web phone page in headless Chromium, against a stub of the server's `/ws` protocol.

The fake microphone plays espeak-ng speech, so the caller audio crosses the real capture path
(getUserMedia with echo cancellation, the capture worklet, its resampler) and the agent audio the
real playback path (the jitter buffer worklet). The stub server is driven step by step by the
test, which waits on conditions on both sides, never on a fixed sleep.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
from array import array
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tests.browser.chromium import Page, chromium

STATIC = Path(__file__).parents[2] / "src" / "voice_agent" / "entrypoints" / "web" / "static"
RATE = 16000
FRAME = 320  # 20 ms
HELD_BACK = 64  # samples the worklet resampler may still hold when audio stops (< 1 ms)
VOICED_RMS = 0.02  # of full scale, about -34 dBFS: speech, not the silence between words
CALLER_SAYS = "I would like a table for two tonight."
AGENT_SAYS = "Certainly, for what time?"
AGENT_CUT = "We have tables at six and"
STUB_TOKEN = "1700000000.0123abcd"
LATENCY = {
    "type": "latency",
    "voice_to_voice_ms": 812.3,
    "eou_ms": 351.0,
    "stt_ms": 170.4,
    "llm_ttft_ms": 301.2,
    "tts_ttfb_ms": None,
}

pytestmark = pytest.mark.slow


class Line:
    """The server side of one call on the stub: what the page sent, and ways to answer."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self.socket = socket
        self.messages: list[dict[str, Any]] = []
        self.frames: list[tuple[float, int]] = []  # (arrival on the loop clock, samples)
        self.voiced_samples = 0
        self.closed = False
        self.offered_protocols: str | None = None
        self._changed = asyncio.Condition()

    @property
    def received_samples(self) -> int:
        return sum(samples for _, samples in self.frames)

    def types(self) -> list[str]:
        return [str(message.get("type")) for message in self.messages]

    def capture_rate(self, skip_s: float) -> float:
        """Caller samples per wall-clock second, from `skip_s` seconds after the first frame
        on (the page holds frames back until `ready`, then sends them in one go)."""
        first_arrival = self.frames[0][0]
        steady = [frame for frame in self.frames if frame[0] >= first_arrival + skip_s]
        assert len(steady) > 1, f"no audio {skip_s} s after the first frame"
        samples = sum(count for _, count in steady[1:])
        return samples / (steady[-1][0] - steady[0][0])

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(condition)

    async def send(self, **message: Any) -> None:
        await self.socket.send_json(message)

    async def send_tone(self, seconds: float, *, ahead_s: float = 0.06) -> None:
        """A 440 Hz tone as 20 ms frames paced in real time, `ahead_s` ahead of the clock."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, frame in enumerate(tone_frames(seconds)):
            due = start + index * FRAME / RATE - ahead_s
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await self.socket.send_bytes(frame)

    async def _record(self, message: dict[str, Any] | None, audio: bytes | None) -> None:
        async with self._changed:
            if message is not None:
                self.messages.append(message)
            if audio is not None:
                samples = array("h", audio[: len(audio) // 2 * 2])
                self.frames.append((asyncio.get_running_loop().time(), len(samples)))
                if samples and rms(samples) > VOICED_RMS:
                    self.voiced_samples += len(samples)
            self._changed.notify_all()

    async def _closed(self) -> None:
        async with self._changed:
            self.closed = True
            self._changed.notify_all()


class StubServer:
    """`/` and `/static/` like the real server, a `/ws-token` that wants `api_key` (if
    given) and a `/ws` that answers `start` with `ready` and `hangup` with `ended`;
    everything else the test says through `Line`."""

    def __init__(self, api_key: str | None = None) -> None:
        self.lines: list[Line] = []
        self.url = ""
        self.api_key = api_key
        self.token_requests: list[str | None] = []
        """The Authorization header of each `/ws-token` request."""
        self._new_line = asyncio.Condition()
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_post("/ws-token", self._token)
        app.router.add_get("/ws", self._phone)
        app.router.add_static("/static/", STATIC)
        self._runner = web.AppRunner(app)

    async def __aenter__(self) -> StubServer:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._runner.cleanup()

    async def next_line(self, timeout_s: float = 10.0) -> Line:
        async with asyncio.timeout(timeout_s), self._new_line:
            await self._new_line.wait_for(lambda: bool(self.lines))
        return self.lines[-1]

    async def _index(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _token(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        self.token_requests.append(authorization)
        if self.api_key is None:
            return web.json_response({"token": None})
        if authorization != f"Bearer {self.api_key}":
            return web.json_response({"detail": "this web phone needs the API key"}, status=401)
        return web.json_response({"token": STUB_TOKEN, "expires_in_s": 60})

    async def _phone(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(protocols=("voice-agent",))
        await socket.prepare(request)
        line = Line(socket)
        line.offered_protocols = request.headers.get("Sec-WebSocket-Protocol")
        async with self._new_line:
            self.lines.append(line)
            self._new_line.notify_all()
        async for frame in socket:
            if frame.type is WSMsgType.BINARY:
                await line._record(None, frame.data)
            elif frame.type is WSMsgType.TEXT:
                message = json.loads(frame.data)
                await line._record(message, None)
                if message["type"] == "start":
                    await line.send(
                        type="ready", call_id="stub-call", sample_rate=RATE, stack="stub"
                    )
                    await line.send(type="state", state="listening")
                elif message["type"] == "hangup":
                    await line.send(type="ended", reason="caller_hung_up")
                    await socket.close()
        await line._closed()
        return socket


def tone_frames(seconds: float, frequency: float = 440.0) -> list[bytes]:
    total = round(seconds * RATE)
    samples = array(
        "h", (round(9000 * math.sin(2 * math.pi * frequency * n / RATE)) for n in range(total))
    )
    return [samples[i : i + FRAME].tobytes() for i in range(0, total, FRAME)]


def rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of espeak-ng speech (16-bit PCM at 22.05 kHz: Chromium resamples it)."""
    path = tmp_path_factory.mktemp("audio") / "caller.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "Hello, I would like to book a table for two tonight."],
        check=True,
    )
    return path


@pytest.fixture
async def server() -> AsyncIterator[StubServer]:
    async with StubServer() as stub:
        yield stub


async def transcript_text(page: Page) -> str:
    return str(await page.evaluate("document.getElementById('transcript').innerText"))


@pytest.mark.parametrize(
    ("query", "context_rate"),
    [("", 16000), ("?sampleRate=44100", 44100), ("?sampleRate=48000", 48000)],
    ids=["16k-context", "44.1k-context-resampled", "48k-context-resampled"],
)
async def test_a_call_through_the_page(
    server: StubServer, speech_wav: Path, query: str, context_rate: int
) -> None:
    async with chromium(fake_audio=speech_wav) as browser:
        page = await browser.open(server.url + query)
        try:
            await _call(page, server, context_rate)
        except BaseException:
            print("console of the page:\n" + page.console_text())
            raise


async def _call(page: Page, server: StubServer, context_rate: int) -> None:
    await page.wait_for("window.phone?.state === 'idle'")
    await page.evaluate("phone.call()")
    line = await server.next_line()
    await line.wait_until(lambda: "start" in line.types())
    await page.wait_for("phone.state === 'listening'")
    assert await page.evaluate("phone.callId") == "stub-call"
    assert await page.evaluate("phone.contextRate") == context_rate

    # The fake microphone's speech reaches the server as 16 kHz PCM, in real time.
    await line.wait_until(lambda: line.voiced_samples >= RATE, timeout_s=15)
    await line.wait_until(lambda: line.received_samples >= 3 * RATE, timeout_s=15)
    rate = line.capture_rate(skip_s=0.5)
    assert 0.8 * RATE < rate < 1.2 * RATE, f"caller audio at {rate:.0f} samples/s"
    assert await page.evaluate("phone.framesSent") > 0
    assert await page.evaluate("phone.samplesPlayed") == 0

    # A caller turn, its latency, and a second of agent audio, paced like the server does.
    await line.send(type="state", state="thinking")
    await line.send(type="transcript", role="caller", text=CALLER_SAYS, interrupted=False)
    await line.send(type="state", state="speaking")
    await line.send(**LATENCY)
    await line.send_tone(1.0)
    await page.wait_for(f"phone.samplesPlayed >= {RATE - HELD_BACK}", timeout_s=5)
    await line.send(type="transcript", role="agent", text=AGENT_SAYS, interrupted=False)
    await line.send(type="state", state="listening")
    await page.wait_for("phone.transcripts.length === 2 && phone.state === 'listening'")
    assert await page.evaluate("phone.transcripts") == [
        {"role": "caller", "text": CALLER_SAYS, "interrupted": False},
        {"role": "agent", "text": AGENT_SAYS, "interrupted": False},
    ]
    assert await page.evaluate("phone.latencies") == [LATENCY]
    shown = await transcript_text(page)
    for words in (CALLER_SAYS, AGENT_SAYS, "812 ms voice to voice", "LLM 301 ms"):
        assert words in shown

    # Barge-in: the server ran 3 s ahead, then clears 0.3 s into it. Nothing stale plays.
    played = int(await page.evaluate("phone.samplesPlayed"))
    await line.send(type="state", state="speaking")
    for frame in tone_frames(3.0):
        await line.socket.send_bytes(frame)
    await page.wait_for(f"phone.samplesPlayed >= {played + 3 * RATE // 10}", timeout_s=5)
    await line.send(type="clear")
    await page.wait_for("phone.clears === 1 && phone.queuedSamples === 0", timeout_s=5)
    at_clear = int(await page.evaluate("phone.samplesPlayed"))
    assert at_clear < played + RATE, "the clear came after the stale burst played out"
    rendered = float(await page.evaluate("phone.audioTime"))
    await page.wait_for(f"phone.audioTime >= {rendered + 1.0}", timeout_s=5)
    assert await page.evaluate("phone.samplesPlayed") == at_clear
    await line.send(type="transcript", role="agent", text=AGENT_CUT, interrupted=True)
    await line.send(type="state", state="listening")
    await page.wait_for("document.querySelector('#transcript .interrupted .tag') !== null")
    assert AGENT_CUT in await transcript_text(page)

    # Fresh audio after a clear plays again.
    await line.send_tone(0.2)
    await page.wait_for(f"phone.samplesPlayed >= {at_clear + RATE // 5 - HELD_BACK}", timeout_s=5)

    # DTMF and hang-up.
    assert await page.evaluate("phone.sendDigit('5')") is True
    await line.wait_until(lambda: {"type": "dtmf", "digit": "5"} in line.messages)
    await page.evaluate("phone.hangUp()")
    await line.wait_until(lambda: line.closed)
    assert line.messages[-1] == {"type": "hangup"}
    await page.wait_for("phone.ended && phone.state === 'ended'")
    assert await page.evaluate("phone.endReason") == "caller_hung_up"
    assert await page.evaluate("document.getElementById('call').textContent") == "Call"
    assert page.errors == [], page.console_text()


async def test_the_agents_last_words_play_out_when_the_server_ends_the_call(
    server: StubServer, speech_wav: Path
) -> None:
    async with chromium(fake_audio=speech_wav) as browser:
        page = await browser.open(server.url)
        await page.wait_for("window.phone?.state === 'idle'")
        await page.evaluate("phone.call()")
        line = await server.next_line()
        await page.wait_for("phone.state === 'listening'")
        await line.send(type="state", state="speaking")
        for frame in tone_frames(0.5):  # "Goodbye!", sent ahead of the clock as servers do
            await line.socket.send_bytes(frame)
        await line.send(type="ended", reason="agent_hung_up")
        await line.wait_until(lambda: line.closed)
        await page.wait_for("phone.ended && phone.state === 'ended'")
        await page.wait_for(f"phone.samplesPlayed >= {RATE // 2 - HELD_BACK}", timeout_s=5)
        assert await page.evaluate("phone.endReason") == "agent_hung_up"
        status = await page.evaluate("document.getElementById('status').textContent")
        assert status == "Call ended: the agent hung up"
        assert page.errors == [], page.console_text()


# Runs the worklets' Resampler on sines in the page (the module's source, with the worklet
# globals stubbed): the level of `tone` and of its alias in the output, in dB, and the count.
RESAMPLER_PROBE = """
(async () => {
  const source = await (await fetch("static/audio-worklets.js")).text();
  const Resampler = new Function("sampleRate", "AudioWorkletProcessor", "registerProcessor",
    source + "; return Resampler;")(16000, class {}, () => {});
  const level = (samples, f, rate) => {
    let re = 0, im = 0;
    samples.forEach((s, i) => {
      re += s * Math.cos(2 * Math.PI * f * i / rate);
      im += s * Math.sin(2 * Math.PI * f * i / rate);
    });
    return 20 * Math.log10(2 * Math.hypot(re, im) / samples.length / 0.5);
  };
  const [from, to, tone] = %s;
  const resampler = new Resampler(from, to);
  const out = [];
  for (let at = 0; at < from; at += 128) {
    const block = Float32Array.from({ length: 128 },
      (_, i) => 0.5 * Math.sin(2 * Math.PI * tone * (at + i) / from));
    const converted = new Float32Array(resampler.capacity(128));
    out.push(...converted.subarray(0, resampler.process(block, converted)));
  }
  const settled = out.slice(to / 100);
  return { count: out.length, level: level(settled, tone, to) };
})()
"""


@pytest.mark.parametrize(
    ("from_rate", "to_rate"), [(44100, 16000), (48000, 16000), (16000, 44100), (16000, 48000)]
)
async def test_the_worklet_resampler_keeps_speech_and_rejects_aliases(
    server: StubServer, from_rate: int, to_rate: int
) -> None:
    async with chromium() as browser:
        page = await browser.open(server.url)
        speech = await page.evaluate(RESAMPLER_PROBE % [from_rate, to_rate, 1000])
        assert abs(speech["count"] - to_rate) < to_rate / 100  # one second in, one out
        assert abs(speech["level"]) < 0.5  # dB
        if from_rate > to_rate:  # 10 kHz does not fit in 16 kHz: it must not fold down to 6
            alias = await page.evaluate(RESAMPLER_PROBE % [from_rate, to_rate, 10000])
            assert alias["level"] < -60
        assert page.errors == [], page.console_text()


async def test_a_server_that_wants_its_api_key_gets_it_from_the_address_and_a_token_on_the_socket(
    speech_wav: Path,
) -> None:
    async with (
        StubServer(api_key="s3cret-key") as server,
        chromium(fake_audio=speech_wav) as browser,
    ):
        page = await browser.open(server.url + "#key=s3cret-key")
        await page.wait_for("window.phone?.state === 'idle'")
        await page.evaluate("phone.call()")
        line = await server.next_line()
        await line.wait_until(lambda: "start" in line.types())
        await page.wait_for("phone.state === 'listening'")
        assert server.token_requests == ["Bearer s3cret-key"]
        assert line.offered_protocols == f"voice-agent, token.{STUB_TOKEN}"
        assert await page.evaluate("location.hash") == "", "the key stays in the address bar"
        await page.evaluate("phone.hangUp()")
        await page.wait_for("phone.ended")
        assert page.errors == [], page.console_text()


async def test_a_refused_key_is_said_and_no_call_is_placed(speech_wav: Path) -> None:
    async with (
        StubServer(api_key="s3cret-key") as server,
        chromium(fake_audio=speech_wav) as browser,
    ):
        page = await browser.open(server.url + "#key=wrong")
        await page.wait_for("window.phone?.state === 'idle'")
        await page.evaluate("window.prompt = () => 'still-wrong'")
        await page.evaluate("phone.call()")
        await page.wait_for("phone.ended && phone.endReason === 'failed'")
        assert server.token_requests == ["Bearer wrong", "Bearer still-wrong"]
        assert server.lines == []
        shown = await page.evaluate("document.getElementById('error').textContent")
        assert "the API key was refused" in shown
