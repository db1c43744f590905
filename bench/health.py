"""`GET /health` latency while 50 fake calls run in the same process.

A real uvicorn server on loopback and 50 scripted calls (real time, 20 ms frames) share
one event loop; a client in the same process asks for `/health` every 20 ms. The calls
store their turns in SQLite, the same database the health probe reads. Target: p99 <= 20 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn

from bench.common import conversation, percentile
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.bootstrap.settings import StackName
from voice_agent.entrypoints.bootstrap.stack import StackChoice
from voice_agent.entrypoints.bootstrap.store import open_call_store
from voice_agent.entrypoints.scripted.runner import build_scripted_call
from voice_agent.entrypoints.scripted.scenario import parse_scenario
from voice_agent.entrypoints.web.api import ApiDependencies, create_app
from voice_agent.entrypoints.web.app import health_checker

CALLS = 50
REQUESTS = 1000
INTERVAL_S = 0.02


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(db_path: Path) -> list[float]:
    database, repository = await open_call_store(f"sqlite+aiosqlite:///{db_path}", migrate=True)
    metrics = PrometheusMetrics()
    app = create_app(
        ApiDependencies(
            repository=repository,
            metrics=metrics,
            health=health_checker(database, StackChoice(StackName.FAKE, "bench")),
            config_status=dict,
            api_key=None,
        )
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.01)
    scenario = parse_scenario(conversation(40))
    calls = [
        build_scripted_call(
            scenario,
            base=SessionConfig(),
            repository=repository,
            sinks=[metrics],
            keep_played_audio=False,
        )
        for _ in range(CALLS)
    ]
    call_tasks = [asyncio.create_task(c.run()) for c in calls]
    await asyncio.sleep(3.0)  # let every call get going
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = await client.get("/health")
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            await asyncio.sleep(INTERVAL_S)
    active = sum(1 for t in call_tasks if not t.done())
    for task in call_tasks:
        task.cancel()
    await asyncio.gather(*call_tasks, return_exceptions=True)
    server.should_exit = True
    await serving
    await database.dispose()
    print(f"calls still running at the end of the measurement: {active} of {CALLS}")
    return latencies


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.suppress(KeyboardInterrupt):
        latencies = asyncio.run(run(Path(tmp) / "bench.db"))
    print(f"GET /health x {len(latencies)} over loopback, {CALLS} fake calls in the same process")
    for q in (50, 95, 99):
        print(f"p{q}: {percentile(latencies, q):.2f} ms")
    print(f"max: {max(latencies):.2f} ms")
