"""`run_worker` end to end on the fake dispatch server (`/agent`) with the real LiveKit server
for the room: a job assigned, the call answered on the fake stack, the caller hangs up, and
the call is stored (SQLite) with its answer time and turns; the worker's `/health` and
`/metrics` follow it all."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx
import pytest
from bench.livekit_caller import join_token
from dependency_injector import providers
from fake_servers.livekit_agent import API_KEY, API_SECRET, FakeLiveKitDispatch
from livekit.protocol import agent
from pydantic import SecretStr

from tests.databases import migrated
from tests.e2e.test_livekit_transport import Caller
from tests.livekit_servers import LiveKitServers
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.domain.call import CallStatus, EndReason
from voice_agent.entrypoints.bootstrap.container import Container
from voice_agent.entrypoints.bootstrap.settings import Settings, StackName
from voice_agent.entrypoints.cli.check_deployment import WORKER_SERIES, check_service
from voice_agent.entrypoints.worker.main import run_worker

pytestmark = pytest.mark.slow


async def test_a_dispatched_call_is_stored_with_its_answer_time_and_shown_on_the_workers_port(
    dispatch: FakeLiveKitDispatch, livekit_servers: LiveKitServers, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    await migrated(database_url)
    settings = Settings(
        _env_file=None,
        stack=StackName.FAKE,
        database_url=database_url,
        livekit_url=dispatch.url,
        livekit_api_key=SecretStr(API_KEY),
        livekit_api_secret=SecretStr(API_SECRET),
        livekit_agent_name="receptionist",
        worker_max_calls=1,
        worker_http_port=0,
    )
    container = Container()
    container.settings.override(providers.Object(settings))
    stop, ready = asyncio.Event(), asyncio.Event()
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    worker = asyncio.create_task(run_worker(container, stop, ready=ready, on_http=port.set_result))
    room = f"call-{secrets.token_hex(4)}"
    caller = Caller()
    try:
        await asyncio.wait_for(ready.wait(), 20)
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{await port}")
        idle = await http.get("/health")
        assert idle.status_code == 200
        assert idle.json()["worker"] == {
            "status": "available",
            "registered": True,
            "worker_id": "W1",
            "active_calls": 0,
            "max_calls": 1,
        }
        assert {"database", "stt", "llm", "tts"} <= set(idle.json()["components"])

        await caller.join(livekit_servers, room)  # a SIP caller is in the room first
        token = join_token(livekit_servers, room, "agent-J1")
        job, assigned = await dispatch.dispatch(room, url=livekit_servers.ws_url, token=token)
        assert assigned
        await asyncio.wait_for(caller.wait_heard(0.5), 20)  # the greeting
        busy = (await http.get("/health")).json()["worker"]
        assert (busy["status"], busy["active_calls"]) == ("full", 1)
        await caller.leave()
        await dispatch.wait_until(lambda: agent.JS_SUCCESS in dispatch.statuses(job), 20)

        metrics = (await http.get("/metrics")).text
        assert "voice_agent_answer_seconds_count 1.0" in metrics
        assert "voice_agent_answer_joined_seconds_count 1.0" in metrics
        assert 'voice_agent_calls_total{reason="caller_hung_up",status="completed"} 1.0' in metrics
        assert "voice_agent_active_calls 0.0" in metrics
        assert 'voice_agent_worker_status{status="available"} 1.0' in metrics
        assert 'voice_agent_worker_status{status="full"} 0.0' in metrics
        checks = await check_service(http, "worker", str(http.base_url), WORKER_SERIES)
        assert [c for c in checks if not c.ok] == []  # as `voice-agent check-deployment` sees it
        await http.aclose()
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
        await caller.leave()

    database = Database(database_url)
    try:
        repository = SqlAlchemyCallRepository(database)
        [listed] = (await repository.list()).calls
        stored = await repository.get(listed.id)
    finally:
        await database.dispose()
    assert stored is not None
    assert (stored.status, stored.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP)
    assert stored.turns[0].text == settings.greeting
    assert stored.answer is not None
    assert stored.answer.joined_ms > 0  # the room joined after the assignment
    assert stored.answer.first_audio_ms is not None
    assert stored.answer.first_audio_ms > stored.answer.joined_ms
