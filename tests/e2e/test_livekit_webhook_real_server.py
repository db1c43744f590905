"""The real LiveKit server delivering its webhook to `serve`'s `POST /livekit/webhook`: the
server signs with the key its `webhook.api_key` names, and the events it sends for a room's
life (created, a participant joins and leaves, deleted) are verified and stored once each.
What the fakes cannot show: the header, body and naming the real server uses."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from livekit import api, rtc

from tests.databases import migrated
from tests.livekit_servers import LiveKitServers, LiveKitUnavailable, free_port
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.web.app import create_server_app

pytestmark = pytest.mark.slow

API_KEY = "webhook-real-server-key-0123456789"
DELIVERY_TIMEOUT_S = 20.0
"""How long the server may take to deliver its events (it sends them as they happen)."""


@pytest.fixture
def agent_port() -> int:
    return free_port()


@pytest.fixture
def livekit(agent_port: int) -> Iterator[LiveKitServers]:
    """A LiveKit server of its own, sending its webhook to the agent's port."""
    servers = LiveKitServers()
    servers.extra_config["webhook"] = {
        "api_key": servers.api_key,
        "urls": [f"http://127.0.0.1:{agent_port}/livekit/webhook"],
    }
    try:
        servers.start()
    except LiveKitUnavailable as error:
        pytest.fail(f"the LiveKit server is needed for this test: {error}")
    yield servers
    servers.stop()


@pytest.fixture
async def agent(
    livekit: LiveKitServers, agent_port: int, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """`serve`'s app on `agent_port` with the server's key and secret; a client of its API."""
    url = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    settings = Settings(
        _env_file=None,
        stack="fake",
        database_url=url,
        api_key=API_KEY,
        livekit_api_key=livekit.api_key,
        livekit_api_secret=livekit.api_secret,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_server_app(settings), host="127.0.0.1", port=agent_port, log_config=None
        )
    )
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{agent_port}",
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await serving


async def events_of(client: httpx.AsyncClient, room: str, count: int) -> list[dict[str, Any]]:
    """The room's stored events once there are `count` (the server delivers them in the
    background: polled, within DELIVERY_TIMEOUT_S)."""
    async with asyncio.timeout(DELIVERY_TIMEOUT_S):
        while True:
            response = await client.get("/livekit/events", params={"room": room})
            response.raise_for_status()
            events: list[dict[str, Any]] = response.json()["events"]
            if len(events) >= count:
                return events
            await asyncio.sleep(0.1)


async def test_the_real_servers_webhook_is_verified_and_a_rooms_life_stored(
    livekit: LiveKitServers, agent: httpx.AsyncClient
) -> None:
    room_name = f"call-{secrets.token_hex(4)}"
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lk:
        await lk.room.create_room(api.CreateRoomRequest(name=room_name))
        token = (
            api.AccessToken(livekit.api_key, livekit.api_secret)
            .with_identity("caller")
            .with_grants(api.VideoGrants(room_join=True, room=room_name))
            .to_jwt()
        )
        room = rtc.Room()
        await room.connect(livekit.ws_url, token)
        await room.disconnect()
        await events_of(agent, room_name, 3)
        await lk.room.delete_room(api.DeleteRoomRequest(room=room_name))
    events = await events_of(agent, room_name, 4)
    kinds = [e["type"] for e in events]
    assert sorted(kinds) == [
        "participant_joined",
        "participant_left",
        "room_finished",
        "room_started",
    ], events
    assert kinds[0] == "room_started"
    assert kinds[-1] == "room_finished"
    joined = next(e for e in events if e["type"] == "participant_joined")
    assert (joined["participant_identity"], joined["participant_kind"]) == ("caller", "standard")
    assert all(e["id"].startswith("EV_") for e in events)
    assert len({e["id"] for e in events}) == 4
