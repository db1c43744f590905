"""The container health check (`python -m voice_agent.entrypoints.cli.probe`): 0 only for a
200 from the health URL, 1 with the reason otherwise."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from voice_agent.entrypoints.cli.probe import main


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    httpd = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd: HTTPServer, path: str = "/health") -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}{path}"


def test_healthy(server: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([_url(server)]) == 0
    assert capsys.readouterr().out.strip().endswith("HTTP 200")


def test_unhealthy_answer(
    server: HTTPServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Health, "status", 503)
    assert main([_url(server)]) == 1
    assert "HTTP 503" in capsys.readouterr().out


def test_the_url_comes_from_the_environment(
    server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHCHECK_URL", _url(server, "/nowhere"))
    assert main([]) == 1


def test_nothing_listening(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main([f"http://127.0.0.1:{port}/health"]) == 1
    assert "refused" in capsys.readouterr().out.lower()
