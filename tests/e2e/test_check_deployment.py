"""`voice-agent check-deployment` against a real deployment on one machine: `voice-agent serve`,
a `voice-agent worker` registered with the real LiveKit server, and their SQLite database.
It passes; with the schema behind, or the worker down, it fails naming what is wrong."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.agent_server import BIN, agent_server, free_port
from tests.livekit_servers import LiveKitServers
from tests.worker_process import worker_process
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository

pytestmark = pytest.mark.slow

AGENT_NAME = "deployment-check-agent"


def check(environment: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "voice-agent", "check-deployment", *args],
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_check_deployment_passes_then_names_a_schema_behind_and_a_worker_down(
    livekit_servers: LiveKitServers, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    worker_port = free_port()
    environment = {
        **os.environ,
        "STACK": "fake",
        "DATABASE_URL": database_url,
        "LIVEKIT_URL": livekit_servers.ws_url,
        "LIVEKIT_API_KEY": livekit_servers.api_key,
        "LIVEKIT_API_SECRET": livekit_servers.api_secret,
        "LIVEKIT_AGENT_NAME": AGENT_NAME,
        "WORKER_HTTP_PORT": str(worker_port),
        "WORKER_DRAIN_TIMEOUT_S": "5",
    }
    worker_url = f"http://127.0.0.1:{worker_port}"
    with agent_server(tmp_path, environment) as server:
        args = ("--api", server.url, "--worker", worker_url, "--dispatch-timeout", "15")
        async with worker_process(environment, worker_port, tmp_path / "worker.log") as worker:
            passed = await asyncio.to_thread(check, environment, *args)
            assert passed.returncode == 0, passed.stdout + passed.stderr
            assert passed.stdout.splitlines()[-1] == "deployment check passed"
            assert f"ok   livekit worker: agent '{AGENT_NAME}' joined" in passed.stdout

            database = Database(database_url)
            head = database.head_revision()
            await database.downgrade("-1")
            behind = await asyncio.to_thread(check, environment, *args)
            await database.migrate()
            await database.dispose()
            assert behind.returncode == 1
            assert (
                f"FAIL database schema: at revision {int(head or 0) - 1:04d}, "
                f"this version needs {head}: run `voice-agent migrate`" in behind.stdout
            )
            assert behind.stderr.strip() == "deployment check failed: database schema"

            worker.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(worker.wait(), 30) == 0

        down = await asyncio.to_thread(check, environment, *args[:-1], "3")
    assert down.returncode == 1
    assert f"FAIL worker 1 /health: cannot reach {worker_url}/health" in down.stdout
    assert f"FAIL livekit worker: no worker registered as '{AGENT_NAME}'" in down.stdout
    assert "ok   api /health" in down.stdout
    # The probe's dispatches are not calls: nothing was stored.
    database = Database(database_url)
    try:
        assert (await SqlAlchemyCallRepository(database).list()).calls == []
    finally:
        await database.dispose()
