"""The web phone on the cloud stack: `serve`'s app, in this process, with Deepgram, Groq and
Cartesia replaced by the local fake servers speaking their wire protocols. The call runs
through the real adapters and resilience chains, and its usage and cost are stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from tests.agent_server import free_port
from tests.contract.fake_servers.cloud import FakeCloud
from tests.contract.fake_servers.groq import ScriptedCompletion
from tests.contract.local_models import spoken
from tests.phone_client import agent_turns, phone_call
from voice_agent.adapters.sqlalchemy import Database
from voice_agent.entrypoints.store import open_call_store
from voice_agent.entrypoints.web import create_server_app


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    async with FakeCloud() as fake:
        yield fake


@pytest.fixture
async def ws_url(cloud: FakeCloud, tmp_path: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    database = Database(url)
    await database.migrate()
    await database.dispose()
    settings = cloud.settings().model_copy(update={"database_url": url})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_server_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.05)
    yield f"ws://127.0.0.1:{port}/ws"
    server.should_exit = True
    await serving


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
