"""A phone on a SIP line: baresip (Debian `baresip-core`), the SIP user agent the real-SIP tests
and `python -m bench livekit --part sip` call the agent with. It is driven through baresip's
`ctrl_tcp` module (JSON commands and events in netstrings): dial, send DTMF, switch what the
caller says, hang up. It speaks G.711 at 8 kHz, as a carrier does.

What the caller says comes from WAV files (`aufile`, 8 kHz mono 16 bit): the `quiet` file while
the caller listens, then whatever `say()` switches to. What the caller hears is `sndfile`'s dump
of the decoded audio, written as the RTP arrives; `heard()` reads it while the call goes on,
so a test can wait for the agent's voice and answer it, as a person would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fake_servers.livekit_server import free_port, free_udp_and_tcp_port

PHONE_RATE = 8000
WAV_HEADER_BYTES = 44
MODULES = "/usr/lib/baresip/modules"
READY_TIMEOUT_S = 10.0


class PhoneError(RuntimeError):
    """baresip could not start, or a command or event did not come (the message says which)."""


@dataclass(frozen=True)
class PhoneEvent:
    """One event of baresip's: `kind` as CALL_ESTABLISHED, CALL_CLOSED; `at` on time.monotonic."""

    kind: str
    text: str
    at: float


def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int = PHONE_RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype(np.int16).tobytes())
    return path


def read_growing_wav(path: Path) -> npt.NDArray[np.int16]:
    """The samples of a WAV file still being written (its header's sizes are not final yet)."""
    try:
        data = path.read_bytes()[WAV_HEADER_BYTES:]
    except FileNotFoundError:
        return np.zeros(0, dtype=np.int16)
    return np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16)


def _netstring(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return str(len(body)).encode() + b":" + body + b","


def free_phone_port() -> int:
    """A port for baresip's SIP: free for UDP and TCP, and the next one free for TCP too,
    where baresip 1.0 (built with TLS) always listens for SIP over TLS. A taken next port
    failed the phone's start ("SIP/TLS transport failed: Address already in use")."""
    while True:
        port = free_udp_and_tcp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


@dataclass
class BaresipPhone:
    """One baresip process with its own config directory in `workdir`."""

    workdir: Path
    number: str = "+79161234567"
    """The caller's number: the user part of the From header, as a carrier sends it."""
    credentials: tuple[str, str] | None = None
    """Digest credentials (user, password) for a trunk that asks for them."""
    listen_port: int = 0
    """The SIP port (UDP and TCP) the phone takes requests on; 0: a free one, chosen at
    `start()`. baresip given port 0 binds UDP and TCP to different ports, and a request the
    SIP service sends over TCP (one too large for UDP, say a REFER) then finds no one."""
    quiet_seconds: float = 120.0
    """Length of the silent source played while the caller says nothing (baresip ends the
    call when a source file runs out)."""
    events: list[PhoneEvent] = field(default_factory=list)
    dialed_at: float = 0.0

    def __post_init__(self) -> None:
        self._config = self.workdir / "baresip"
        self._recordings = self.workdir / "recordings"
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listen: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._token = 0
        self._responses: dict[str, asyncio.Future[dict[str, Any]]] = {}

    # -- life cycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._config.mkdir(parents=True, exist_ok=True)
        self._recordings.mkdir(parents=True, exist_ok=True)
        quiet = write_wav(
            self.workdir / "quiet.wav", np.zeros(int(self.quiet_seconds * PHONE_RATE), np.int16)
        )
        control_port = free_port()
        if not self.listen_port:
            self.listen_port = free_phone_port()
        auth = ""
        if self.credentials is not None:
            auth = f";auth_user={self.credentials[0]};auth_pass={self.credentials[1]}"
        (self._config / "accounts").write_text(f"<sip:{self.number}@127.0.0.1>{auth};regint=0\n")
        (self._config / "config").write_text(
            "\n".join(
                [
                    f"sip_listen 127.0.0.1:{self.listen_port}",
                    f"audio_source aufile,{quiet}",
                    # No sound card: ALSA's null device takes what is played and the recording
                    # comes from the sndfile filter, which sees every decoded frame.
                    "audio_player alsa,null",
                    "audio_alert alsa,null",
                    f"ausrc_srate {PHONE_RATE}",
                    f"auplay_srate {PHONE_RATE}",
                    "ausrc_channels 1",
                    "auplay_channels 1",
                    "audio_buffer 20",
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module aufile.so",
                    "module alsa.so",
                    "module sndfile.so",
                    "module ctrl_tcp.so",
                    "module_tmp account.so",
                    "module_app menu.so",
                    f"snd_path {self._recordings}",
                    f"ctrl_tcp_listen 127.0.0.1:{control_port}",
                    "",
                ]
            )
        )
        with (self.workdir / "baresip.log").open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                "baresip",
                "-f",
                str(self._config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", control_port
                )
                break
            except OSError:
                if self._process.returncode is not None or time.monotonic() > deadline:
                    raise PhoneError(f"baresip did not start; its log:\n{self.log()}") from None
                await asyncio.sleep(0.05)  # polling for start-up, not timing an assertion
        self._listen = asyncio.create_task(self._read_events())

    async def stop(self) -> None:
        if self._listen is not None:
            self._listen.cancel()
            await asyncio.gather(self._listen, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                os.killpg(self._process.pid, signal.SIGKILL)
                await self._process.wait()

    def log(self) -> str:
        path = self.workdir / "baresip.log"
        return path.read_text(errors="replace") if path.exists() else "(no log)"

    # -- the call ---------------------------------------------------------------------
    async def dial(self, uri: str) -> None:
        """Sends the INVITE (`dialed_at` is when the command left)."""
        self.dialed_at = time.monotonic()
        await self._command("dial", uri)

    @property
    def uri(self) -> str:
        """Where this phone takes calls (once started)."""
        return f"sip:{self.number}@127.0.0.1:{self.listen_port}"

    async def hang_up(self) -> None:
        """Ends the call, or turns down a call still ringing (486 Busy Here)."""
        await self._command("hangup")

    async def accept(self) -> None:
        """Answers the call ringing."""
        await self._command("accept")

    async def press(self, digits: str) -> None:
        """DTMF as RFC 4733 telephone events, one digit after another."""
        for digit in digits:
            await self._command("sndcode", digit)

    async def say(self, speech: Path) -> None:
        """Switches the caller's microphone to `speech` (8 kHz mono WAV, ended by enough
        silence for the rest of the call: baresip hangs up when a source file runs out)."""
        await self._command("ausrc", f"aufile,{speech}")

    async def wait_for(self, kind: str, timeout_s: float) -> PhoneEvent:
        """The first event of `kind` (already received or still to come)."""
        return (await self.wait_for_many(kind, 1, timeout_s))[0]

    async def wait_for_many(self, kind: str, count: int, timeout_s: float) -> list[PhoneEvent]:
        """The first `count` events of `kind` (as CALL_DTMF_START: one per key heard)."""

        def found() -> list[PhoneEvent]:
            return [event for event in self.events if event.kind == kind][:count]

        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(found()) == count)
        return found()

    # -- what the caller heard and said -------------------------------------------------
    def heard(self) -> npt.NDArray[np.int16]:
        """What the caller has heard so far, from the first RTP packet on, at 8 kHz."""
        return read_growing_wav(self._dump("dec"))

    def spoke(self) -> npt.NDArray[np.int16]:
        """What the caller's phone has sent so far, from its first RTP packet on, at 8 kHz."""
        return read_growing_wav(self._dump("enc"))

    async def wait_heard(
        self, condition: Callable[[npt.NDArray[np.int16]], bool], timeout_s: float
    ) -> npt.NDArray[np.int16]:
        """Reads the recording every 20 ms (one packet) until `condition` holds for it."""
        async with asyncio.timeout(timeout_s):
            while True:
                heard = self.heard()
                if condition(heard):
                    return heard
                await asyncio.sleep(0.02)  # polling a file baresip writes, not timing a result

    def _dump(self, direction: str) -> Path:
        found = sorted(self._recordings.glob(f"dump-*-{direction}.wav"))
        return found[-1] if found else self._recordings / f"none-{direction}.wav"

    # -- ctrl_tcp ---------------------------------------------------------------------
    async def _command(self, command: str, params: str = "") -> dict[str, Any]:
        assert self._writer is not None, "start() first"
        self._token += 1
        token = str(self._token)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._responses[token] = answer
        self._writer.write(_netstring({"command": command, "params": params, "token": token}))
        await self._writer.drain()
        response = await asyncio.wait_for(answer, 5)
        if not response.get("ok", False):
            raise PhoneError(f"baresip refused {command} {params!r}: {response.get('data')}")
        return response

    async def _read_events(self) -> None:
        assert self._reader is not None
        while True:
            length = await self._reader.readuntil(b":")
            body = await self._reader.readexactly(int(length[:-1]) + 1)
            message = json.loads(body[:-1])
            if message.get("response"):
                pending = self._responses.pop(str(message.get("token")), None)
                if pending is not None and not pending.done():
                    pending.set_result(message)
            elif message.get("event"):
                event = PhoneEvent(
                    str(message.get("type")), str(message.get("param", "")), time.monotonic()
                )
                async with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()


def utterance(path: Path, seconds: float, *, then_quiet_s: float = 120.0) -> Path:
    """A WAV of a voiced burst (a 220 Hz tone with its harmonics, loud as speech on a phone
    line) for `seconds`, then silence, for `BaresipPhone.say`: what the scripted recognizer
    hears as one utterance."""
    t = np.arange(int(seconds * PHONE_RATE)) / PHONE_RATE
    voiced = np.zeros_like(t)
    for harmonic in (1, 2, 3):
        voiced += np.sin(2 * np.pi * 220 * harmonic * t) / harmonic
    burst = (6000 * voiced / 1.83).astype(np.int16)
    quiet = np.zeros(int(then_quiet_s * PHONE_RATE), np.int16)
    return write_wav(path, np.concatenate([burst, quiet]))


def loud_windows(samples: npt.NDArray[np.int16], threshold_rms: float = 300.0) -> list[float]:
    """Start times (s) of the 20 ms windows of `samples` (8 kHz) louder than `threshold_rms`."""
    window = PHONE_RATE // 50
    count = len(samples) // window
    if count == 0:
        return []
    frames = samples[: count * window].astype(np.float64).reshape(count, window)
    levels = np.sqrt(np.mean(frames**2, axis=1))
    return [float(i) * window / PHONE_RATE for i in np.nonzero(levels > threshold_rms)[0]]
