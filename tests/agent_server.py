"""`voice-agent serve` as a real process on a loopback port with its own database: what the
web phone tests (Python client and headless browser) call."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class AgentServer:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def agent_server(workdir: Path, env: Mapping[str, str] | None = None) -> Iterator[AgentServer]:
    """Migrate a fresh SQLite database, start the server on the local stack, wait for
    `/health`, and stop it (SIGTERM, then SIGKILL) afterwards unless a test already did."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'calls.db'}",
        "STACK": "local",
        **(env or {}),
    }
    subprocess.run([BIN / "voice-agent", "migrate"], env=environment, check=True)
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [BIN / "voice-agent", "serve", "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = AgentServer(f"http://127.0.0.1:{port}", log, process)
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_healthy(server: AgentServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start-up:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=2):
                return
        except urllib.error.HTTPError:  # up, if not healthy (no SIP trunk here)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)  # polling for start-up, not timing an assertion
    raise TimeoutError(f"the server did not start in {START_TIMEOUT_S} s:\n{server.log_text()}")
