"""The server's handshake checks, in process: `/ws` refuses another site's page before
accepting (HTTP 403), and a server bound to the network wants a token, which `/ws-token`
hands out for the API key. The fake stack has no web phone, so an accepted socket says so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.databases import migrated_sqlite
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.web.app import create_server_app

API_KEY = "gate-test-key-0123456789"
OWN = "http://127.0.0.1:8000"
EVIL = "https://evil.example"
WS = "ws://127.0.0.1:8000/ws"  # absolute: the test client's default host is "testserver"
NO_PHONE = {"type": "error", "message": "the fake stack has no web phone"}


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory.mktemp("gate"))


def server(database_url: str, *, public: bool, **settings: Any) -> TestClient:
    app = create_server_app(
        Settings(_env_file=None, stack="fake", database_url=database_url, **settings),
        public=public,
    )
    return TestClient(app, base_url=OWN)


@pytest.fixture
def loopback(database_url: str) -> Iterator[TestClient]:
    with server(database_url, public=False) as client:
        yield client


@pytest.fixture
def public(database_url: str) -> Iterator[TestClient]:
    with server(database_url, public=True, api_key=API_KEY) as client:
        yield client


def first_message(client: TestClient, **options: Any) -> Any:
    with client.websocket_connect(WS, **options) as ws:
        return ws.receive_json()


def test_another_sites_page_is_refused_before_accepting(
    loopback: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        first_message(loopback, headers={"Origin": EVIL})
    assert refused.value.code == 1008
    assert "web phone refused: cross-origin request (origin 'https://evil.example')" in (
        caplog.text
    )
    response = loopback.post("/ws-token", headers={"Origin": EVIL})
    assert response.status_code == 403


def test_the_servers_own_page_and_non_browser_clients_are_accepted_on_loopback(
    loopback: TestClient,
) -> None:
    assert first_message(loopback, headers={"Origin": OWN}) == NO_PHONE
    assert first_message(loopback) == NO_PHONE
    assert loopback.post("/ws-token", headers={"Origin": OWN}).json() == {"token": None}


def test_a_public_server_wants_a_token_from_the_api_key(
    public: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(WebSocketDisconnect):
        first_message(public, headers={"Origin": OWN})
    refused = public.post("/ws-token", headers={"Origin": OWN})
    assert refused.status_code == 401
    assert refused.json() == {"detail": "this web phone needs the server's API key"}
    wrong = public.post("/ws-token", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    token = public.post(
        "/ws-token", headers={"Origin": OWN, "Authorization": f"Bearer {API_KEY}"}
    ).json()["token"]
    with public.websocket_connect(
        WS, headers={"Origin": OWN}, subprotocols=["voice-agent", f"token.{token}"]
    ) as ws:
        accepted: str | None = ws.accepted_subprotocol  # starlette types it as always None
        assert accepted == "voice-agent"
        assert ws.receive_json() == NO_PHONE
    assert first_message(public, headers={"Authorization": f"Bearer {API_KEY}"}) == NO_PHONE
    with pytest.raises(WebSocketDisconnect):
        first_message(public, subprotocols=["voice-agent", "token.4102444800.forged"])
    assert token not in caplog.text
    assert API_KEY not in caplog.text


def test_a_public_server_without_an_api_key_does_not_start(database_url: str) -> None:
    with pytest.raises(SystemExit, match="non-loopback address: set API_KEY"):
        server(database_url, public=True)
