"""The web phone on the cloud stack: `serve`'s app, in this process, with Deepgram, Groq and
Cartesia replaced by the local fake servers speaking their wire protocols. The call runs
through the real adapters and resilience chains, and its usage and cost are stored."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import uvicorn
from fake_servers.cloud import FakeCloud
from fake_servers.groq import ScriptedCompletion

from tests.agent_server import free_port
from tests.contract.local_models import spoken
from tests.phone_client import agent_turns, phone_call
from voice_agent.adapters.sqlalchemy import Database
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.bootstrap.store import open_call_store
from voice_agent.entrypoints.web.app import create_server_app

pytestmark = pytest.mark.slow

APOLOGY = SessionConfig().prompts.apology


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    async with FakeCloud() as fake:
        yield fake


@asynccontextmanager
async def serving(settings: Settings, database_url: str) -> AsyncIterator[str]:
    """`serve`'s app on a loopback port, on a migrated SQLite database; yields its base URL."""
    database = Database(database_url)
    await database.migrate()
    await database.dispose()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_server_app(settings.model_copy(update={"database_url": database_url})),
            host="127.0.0.1",
            port=port,
            log_config=None,
        )
    )
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def ws_url(cloud: FakeCloud, tmp_path: Path) -> AsyncIterator[str]:
    async with serving(cloud.settings(), f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}") as url:
        yield url.replace("http://", "ws://") + "/ws"


async def test_a_web_call_on_the_cloud_stack_is_answered_and_its_cost_stored(
    cloud: FakeCloud, ws_url: str, tmp_path: Path
) -> None:
    cloud.deepgram.transcripts.append("Are you open on Sunday?")
    cloud.groq.replies.append(ScriptedCompletion("Yes, from ten to four."))
    async with phone_call(ws_url) as phone:
        assert phone.of("ready")[0]["stack"] == "cloud"
        await phone.wait_until("the greeting", lambda: len(agent_turns(phone)) == 1)
        phone.say(spoken("Are you open on Sunday?"))
        await phone.wait_until("the answer", lambda: len(agent_turns(phone)) == 2)
        assert agent_turns(phone)[1]["text"] == "Yes, from ten to four."
        assert phone.of("latency")[0]["voice_to_voice_ms"] > 0
        await phone.hang_up()
        call_id = phone.of("ready")[0]["call_id"]

    database, repository = await open_call_store(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    try:
        stored = await repository.get(call_id)
    finally:
        await database.dispose()
    assert stored is not None
    assert [t.text for t in stored.turns][1:] == [
        "Are you open on Sunday?",
        "Yes, from ten to four.",
    ]
    assert {u.provider for u in stored.usage} >= {"deepgram", "groq", "cartesia"}
    assert stored.cost_usd is not None
    assert stored.cost_usd > 0
    assert stored.answer is not None  # counted from the client's `start`, the line's offer
    assert stored.answer.joined_ms == 0
    assert stored.answer.first_audio_ms is not None


async def test_the_greeting_is_synthesized_once_at_start_up_not_for_every_call(
    cloud: FakeCloud, ws_url: str
) -> None:
    greetings = []
    for _ in range(2):
        async with phone_call(ws_url) as phone:
            await phone.wait_until("the greeting", lambda: len(agent_turns(phone)) == 1)
            greetings.append(agent_turns(phone)[0]["text"])
            await phone.hang_up()
    greeting = greetings[0]
    assert greetings == [greeting, greeting]
    asked = [
        request
        for connection in cloud.cartesia.connections
        for request in connection.requests
        if greeting in request.get("transcript", "")
    ]
    assert len(asked) == 1


async def test_an_open_circuit_shows_in_health_and_metrics_of_the_running_server(
    cloud: FakeCloud, tmp_path: Path
) -> None:
    """Groq fails until its breaker opens (after 2 failures here): the caller hears the
    apology, `/health` says the llm stage is down and why, `/metrics` shows the circuit."""
    settings = cloud.settings(breaker_failures=2, breaker_reset_s=600)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with serving(settings, database_url) as url, aiohttp.ClientSession() as http:
        before = await (await http.get(f"{url}/metrics")).text()
        assert 'voice_agent_provider_circuit_state{provider="groq"} 0.0' in before
        cloud.groq.faults.statuses = deque([500] * 20)  # after the start-up key check
        async with phone_call(url.replace("http://", "ws://") + "/ws") as phone:
            await phone.wait_until("the greeting", lambda: len(agent_turns(phone)) == 1)
            phone.say(spoken("Are you open on Sunday?"))
            await phone.wait_until("the apology", lambda: len(agent_turns(phone)) == 2)
            assert agent_turns(phone)[1]["text"] == APOLOGY
            await phone.hang_up()
        health = await http.get(f"{url}/health")
        metrics = await (await http.get(f"{url}/metrics")).text()
        body = await health.json()
    assert health.status == 503
    assert body["status"] == "unhealthy"
    llm = body["components"]["llm"]
    assert llm["status"] == "unhealthy"
    detail = re.fullmatch(r"groq: circuit open after 2 failures, retry in (\d+) s", llm["detail"])
    assert detail, llm
    assert 540 <= int(detail.group(1)) <= 600
    assert body["components"]["stt"] == {"status": "healthy", "detail": "deepgram: circuit closed"}
    assert body["components"]["tts"]["status"] == "healthy"
    assert 'voice_agent_provider_circuit_state{provider="groq"} 2.0' in metrics
    for provider in ("deepgram", "cartesia", "cartesia-http"):
        assert f'voice_agent_provider_circuit_state{{provider="{provider}"}} 0.0' in metrics
