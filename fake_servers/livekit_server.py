"""The real LiveKit server on loopback for the tests and `python -m bench livekit` (not a
fake: the pinned binary itself, kept here because `bench` may not import `tests`): Redis
(Debian `redis-server`, `make system-deps`) and livekit-server (built by `make
livekit-servers`), each on free loopback ports, the server running a temporary copy of
config/livekit/livekit.yaml with the ports, the Redis address and a fresh key and secret
substituted. Both run in their own process group and are stopped (then killed if need be) on
`stop()`, also when starting fails half-way.

With `sip=True` the LiveKit SIP service runs too (livekit-sip, built from the vendored source in
third_party/livekit-sip by `make livekit-servers`): a copy of config/livekit/sip.yaml with free
SIP and RTP ports and the same Redis, its key, secret and server URL given by environment as a
deployment gives them. `sip_uri(number)` is then where a SIP user agent sends its INVITE."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVER_CONFIG = ROOT / "config" / "livekit" / "livekit.yaml"
SIP_CONFIG = ROOT / "config" / "livekit" / "sip.yaml"

RTP_PORTS = 100
"""How many RTP ports the SIP service may use (one per call leg)."""

READY_TIMEOUT_S = 30.0
"""How long each process may take to answer; livekit-server is up in well under a second."""

GRACE_PERIOD_S = 0.5
"""How long a process may take to stop gracefully after the first SIGTERM."""

STOP_TIMEOUT_S = 10.0
"""How long a process may take to exit after its second SIGTERM before it is killed."""


class LiveKitUnavailable(RuntimeError):
    """A binary is missing or a server did not start (the message says which, with its log)."""


def livekit_server_binary() -> Path:
    """The livekit-server the Makefile builds for its pinned version (`make livekit-servers`)."""
    return _built("livekit-server")


def livekit_sip_binary() -> Path:
    """The livekit-sip the Makefile builds from third_party/livekit-sip (`make livekit-servers`)."""
    return _built("livekit-sip")


def _built(name: str) -> Path:
    """Where the Makefile puts `name` (`make print-NAME`); raises if it is not built."""
    out = subprocess.run(
        ["make", "-s", "-C", str(ROOT), f"print-{name}"],
        capture_output=True,
        text=True,
        check=True,
    )
    binary = Path(out.stdout.strip())
    if not binary.is_file():
        raise LiveKitUnavailable(f"no {name} at {binary}: build it with `make livekit-servers`")
    return binary


def redis_server_binary() -> Path:
    found = shutil.which("redis-server")
    if found is None:
        raise LiveKitUnavailable(
            "no redis-server on PATH: install the Debian package `redis-server` "
            "(`make system-deps` does)"
        )
    return Path(found)


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_udp_and_tcp_port() -> int:
    """A port free for both UDP and TCP (SIP listens on both with one number)."""
    while True:
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def sip_config(
    template: dict[str, Any], *, sip_port: int, rtp_start: int, health_port: int, redis_address: str
) -> dict[str, Any]:
    """A copy of the SIP service's config on loopback with the given ports and Redis."""
    config = {**template}
    config["sip_port"] = sip_port
    config["rtp_port"] = f"{rtp_start}-{rtp_start + RTP_PORTS - 1}"
    config["health_port"] = health_port
    config["redis"] = {**template.get("redis", {}), "address": redis_address}
    # Announce loopback in SDP and SIP headers rather than the host's first interface.
    config["nat_1_to_1_ip"] = "127.0.0.1"
    # The service refuses outbound calls ("cpu exhausted") while the host's CPU is above this
    # share (default 0.9): a test host running the agent, the servers and the phones on two
    # cores often is, and nothing else competes with them there.
    config["max_cpu_utilization"] = 1.0
    return config


def server_config(
    template: dict[str, Any],
    *,
    http_port: int,
    rtc_tcp_port: int,
    rtc_udp_port: int,
    redis_address: str,
    api_key: str,
    api_secret: str,
) -> dict[str, Any]:
    """A copy of the server's config with the given ports, Redis and the only key replaced."""
    config = {**template}
    config["port"] = http_port
    config["bind_addresses"] = ["127.0.0.1"]
    config["rtc"] = {
        **template.get("rtc", {}),
        "tcp_port": rtc_tcp_port,
        "udp_port": rtc_udp_port,
        "node_ip": "127.0.0.1",
    }
    config["redis"] = {**template.get("redis", {}), "address": redis_address}
    config["keys"] = {api_key: api_secret}
    return config


class _Process:
    """One server process in its own process group, its output in a log file."""

    def __init__(
        self, name: str, command: list[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the whole group; a second SIGTERM if it is still up after
        GRACE_PERIOD_S (livekit-server's graceful stop can wait indefinitely, its second
        signal forces the stop); SIGKILL after STOP_TIMEOUT_S. Always reaps the process."""
        for sig, timeout in (
            (signal.SIGTERM, GRACE_PERIOD_S),
            (signal.SIGTERM, STOP_TIMEOUT_S),
            (signal.SIGKILL, STOP_TIMEOUT_S),
        ):
            if self.exited():
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self._log.close()


class LiveKitServers:
    """Redis and livekit-server on loopback. `url` is the server's HTTP (Twirp API) address,
    `ws_url` what rtc clients and workers connect to; `api_key`/`api_secret` are fresh.

    The server runs a temporary copy of config/livekit/livekit.yaml with the ports, Redis and
    keys replaced; with `override_by_environment` it runs the committed file itself and gets
    them from LiveKit's environment variables instead, as a container would."""

    def __init__(
        self,
        *,
        override_by_environment: bool = False,
        extra_config: dict[str, Any] | None = None,
        sip: bool = False,
    ) -> None:
        """`extra_config`: top-level sections added to the server's config (e.g. `webhook`);
        `sip`: run the SIP service too."""
        self.override_by_environment = override_by_environment
        self.extra_config = extra_config or {}
        self.sip = sip
        self.sip_port = 0
        self.sip_health_port = 0
        self.api_key = f"test-{secrets.token_hex(4)}"
        self.api_secret = secrets.token_hex(32)
        self.http_port = 0
        self.rtc_tcp_port = 0
        self.rtc_udp_port = 0
        self.redis_port = 0
        self._root = Path(tempfile.mkdtemp(prefix="voice-agent-livekit-"))
        self._processes: list[_Process] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.http_port}"

    @property
    def redis_address(self) -> str:
        return f"127.0.0.1:{self.redis_port}"

    def sip_uri(self, number: str) -> str:
        """The SIP URI that reaches `number` through the SIP service (UDP, loopback)."""
        if not self.sip_port:
            raise LiveKitUnavailable("the SIP service is not running (LiveKitServers(sip=True))")
        return f"sip:{number}@127.0.0.1:{self.sip_port}"

    def server_log(self, name: str = "livekit-server") -> str:
        """What livekit-server (or `name`: livekit-sip, redis-server) has logged so far (the
        server's own record of jobs, e.g. `job ended {"jobID": ..., "status": "JS_SUCCESS"}`)."""
        servers = [p for p in self._processes if p.name == name]
        return servers[-1].log_path.read_text(errors="replace") if servers else ""

    def __enter__(self) -> LiveKitServers:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start Redis, then the server; on any failure stop what already runs and raise."""
        try:
            livekit_server = livekit_server_binary()
            livekit_sip = livekit_sip_binary() if self.sip else None
            redis_server = redis_server_binary()
            self._start_redis(redis_server)
            self._start_livekit_server(livekit_server)
            if livekit_sip is not None:
                self._start_livekit_sip(livekit_sip)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        while self._processes:
            self._processes.pop().stop()
        shutil.rmtree(self._root, ignore_errors=True)

    # -- servers ----------------------------------------------------------------------
    def _start_redis(self, binary: Path) -> None:
        # A port freed by the probe can be taken before the server binds it: retry then.
        for attempt in range(3):
            self.redis_port = free_port()
            process = self._spawn(
                "redis-server",
                [
                    str(binary),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.redis_port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self._root),
                ],
                f"redis-{attempt}.log",
            )
            if self._wait_ready(process, self._redis_answers):
                return
        raise self._failure(process)

    def _start_livekit_server(self, binary: Path) -> None:
        template = yaml.safe_load(SERVER_CONFIG.read_text())
        for attempt in range(3):
            self.http_port = free_port()
            self.rtc_tcp_port = rtc_tcp_port = free_port()
            self.rtc_udp_port = rtc_udp_port = free_port(socket.SOCK_DGRAM)
            if self.override_by_environment:
                config_path = SERVER_CONFIG
                env = {
                    **os.environ,
                    "LIVEKIT_PORT": str(self.http_port),
                    "LIVEKIT_RTC_TCP_PORT": str(rtc_tcp_port),
                    "LIVEKIT_RTC_UDP_PORT_START": str(rtc_udp_port),
                    "LIVEKIT_REDIS_ADDRESS": self.redis_address,
                    "LIVEKIT_KEYS": f"{self.api_key}: {self.api_secret}",
                }
            else:
                config = server_config(
                    template,
                    http_port=self.http_port,
                    rtc_tcp_port=rtc_tcp_port,
                    rtc_udp_port=rtc_udp_port,
                    redis_address=self.redis_address,
                    api_key=self.api_key,
                    api_secret=self.api_secret,
                )
                config.update(self.extra_config)
                config_path = self._root / f"livekit-{attempt}.yaml"
                config_path.write_text(yaml.safe_dump(config))
                env = None
            process = self._spawn(
                "livekit-server",
                [str(binary), "--config", str(config_path)],
                f"livekit-{attempt}.log",
                env,
            )
            if self._wait_ready(process, self._livekit_answers):
                return
        raise self._failure(process)

    def _start_livekit_sip(self, binary: Path) -> None:
        template = yaml.safe_load(SIP_CONFIG.read_text())
        env = {
            **os.environ,
            "LIVEKIT_API_KEY": self.api_key,
            "LIVEKIT_API_SECRET": self.api_secret,
            "LIVEKIT_WS_URL": self.ws_url,
        }
        for attempt in range(3):
            self.sip_port = free_udp_and_tcp_port()
            self.sip_health_port = free_port()
            config = sip_config(
                template,
                sip_port=self.sip_port,
                rtp_start=min(free_port(socket.SOCK_DGRAM), 65535 - RTP_PORTS),
                health_port=self.sip_health_port,
                redis_address=self.redis_address,
            )
            config_path = self._root / f"sip-{attempt}.yaml"
            config_path.write_text(yaml.safe_dump(config))
            process = self._spawn(
                "livekit-sip",
                [str(binary), "--config", str(config_path)],
                f"sip-{attempt}.log",
                env,
            )
            if self._wait_ready(process, self._sip_answers):
                return
        raise self._failure(process)

    # -- helpers ----------------------------------------------------------------------
    def _spawn(
        self, name: str, command: list[str], log_name: str, env: dict[str, str] | None = None
    ) -> _Process:
        process = _Process(name, command, self._root / log_name, env)
        self._processes.append(process)
        return process

    def _wait_ready(self, process: _Process, answers: Callable[[], bool]) -> bool:
        """True once `answers()` does; False if the process exited first (e.g. its port was
        taken: the caller retries). Raises if it neither answers nor exits in time."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.exited():
                self._processes.remove(process)
                process.stop()
                return False
            if answers():
                return True
            time.sleep(0.05)
        raise self._failure(process, f"did not answer within {READY_TIMEOUT_S:.0f} s")

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _livekit_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=1) as response:
                status: int = response.status
                return status == 200
        except (OSError, urllib.error.URLError):
            return False

    def _sip_answers(self) -> bool:
        """Its health endpoint answers 200, or 429 when the host's CPU is busy (it still takes
        calls then: the status only advises a load balancer)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.sip_health_port}", timeout=1):
                return True
        except urllib.error.HTTPError as error:
            return error.code == 429
        except (OSError, urllib.error.URLError):
            return False

    @staticmethod
    def _failure(process: _Process, why: str = "did not start") -> LiveKitUnavailable:
        return LiveKitUnavailable(f"{process.name} {why}; its log ends:\n{process.log_tail()}")
