"""`voice-agent worker` as a real process, on the fake dispatch server (`/agent`) with the
real LiveKit server for the room: SIGTERM during a call drains it. The worker reports itself
full and draining, refuses the next job, lets the call in progress finish (reported a
success), and exits 0 with the call stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from pathlib import Path

import httpx
import pytest
from bench.livekit_caller import join_token
from fake_servers.livekit_agent import API_KEY, API_SECRET, FakeLiveKitDispatch
from livekit.protocol import agent

from tests.agent_server import BIN, free_port
from tests.databases import migrated
from tests.e2e.test_livekit_transport import Caller
from tests.livekit_servers import LiveKitServers
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.domain.call import Call, CallStatus, EndReason

pytestmark = pytest.mark.slow


async def test_sigterm_drains_the_worker_process_and_the_call_in_progress_finishes(
    dispatch: FakeLiveKitDispatch, livekit_servers: LiveKitServers, tmp_path: Path
) -> None:
    database_url = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    port = free_port()
    environment = {
        **os.environ,
        "STACK": "fake",
        "DATABASE_URL": database_url,
        "LIVEKIT_URL": dispatch.url,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "LIVEKIT_AGENT_NAME": "receptionist",
        "WORKER_MAX_CALLS": "2",  # a second job is refused for draining, not for being full
        "WORKER_HTTP_PORT": str(port),
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            BIN / "voice-agent",
            "worker",
            env=environment,
            cwd=tmp_path,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    room = f"call-{secrets.token_hex(4)}"
    caller = Caller()
    try:
        await dispatch.wait_until(lambda: bool(dispatch.workers), 60)
        await caller.join(livekit_servers, room)
        token = join_token(livekit_servers, room, "agent-J1")
        job, assigned = await dispatch.dispatch(room, url=livekit_servers.ws_url, token=token)
        assert assigned
        await asyncio.wait_for(caller.wait_heard(0.5), 20)  # the greeting: the call is up

        process.send_signal(signal.SIGTERM)
        await dispatch.wait_until(
            lambda: any(
                s.draining and s.status == agent.WS_FULL for s in dispatch.worker.worker_statuses
            )
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            health = await http.get("/health")
        assert health.status_code == 200
        assert (health.json()["worker"]["status"], health.json()["worker"]["active_calls"]) == (
            "draining",
            1,
        )
        _, second_assigned = await dispatch.dispatch(f"call-{secrets.token_hex(4)}")
        assert not second_assigned
        assert dispatch.worker.availability[-1].available is False

        await caller.leave()  # the call in progress ends normally
        await dispatch.wait_until(lambda: agent.JS_SUCCESS in dispatch.statuses(job), 20)
        assert await asyncio.wait_for(process.wait(), 30) == 0, log.read_text()
    finally:
        await caller.leave()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    [stored] = await _stored_calls(database_url)
    assert (stored.status, stored.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP)
    assert stored.turns
    assert stored.answer is not None
    assert stored.answer.first_audio_ms is not None


async def _stored_calls(url: str) -> list[Call]:
    database = Database(url)
    try:
        repository = SqlAlchemyCallRepository(database)
        listed = (await repository.list()).calls
        return [call for c in listed if (call := await repository.get(c.id)) is not None]
    finally:
        await database.dispose()
