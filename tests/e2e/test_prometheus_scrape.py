"""A real Prometheus with the project's scrape config and alert rules, scraping a running
`voice-agent serve` and a `voice-agent worker` registered with the real LiveKit server, after
a call on the local stack: the dashboard's queries return data and the rules evaluate. (What
the compose stack's Prometheus does, with loopback targets instead of Docker's DNS.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.agent_server import agent_server, free_port
from tests.contract.local_models import spoken
from tests.livekit_servers import LiveKitServers
from tests.phone_client import agent_turns, phone_call
from tests.prometheus_server import prometheus_server
from tests.worker_process import worker_process

pytestmark = pytest.mark.slow


async def test_prometheus_scrapes_the_api_and_a_worker(
    livekit_servers: LiveKitServers, tmp_path: Path
) -> None:
    worker_port = free_port()
    worker_environment = {
        **os.environ,
        "STACK": "fake",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}",
        "LIVEKIT_URL": livekit_servers.ws_url,
        "LIVEKIT_API_KEY": livekit_servers.api_key,
        "LIVEKIT_API_SECRET": livekit_servers.api_secret,
        "LIVEKIT_AGENT_NAME": "prometheus-scrape-agent",
        "WORKER_HTTP_PORT": str(worker_port),
    }
    with agent_server(tmp_path) as server:
        async with worker_process(worker_environment, worker_port, tmp_path / "worker.log"):
            targets = {
                "api": server.url.removeprefix("http://"),
                "worker": f"127.0.0.1:{worker_port}",
            }
            with prometheus_server(targets) as prometheus:
                async with phone_call(server.ws_url) as phone:
                    await phone.wait_until("the greeting", lambda: len(agent_turns(phone)) == 1)
                    phone.say(spoken("Are you open on Saturday?"))
                    await phone.wait_until("the answer", lambda: len(phone.of("latency")) == 1)
                    await phone.hang_up()

                calls = prometheus.wait_for(
                    'sum by (status, reason) (voice_agent_calls_total{job="api"}) > 0'
                )
                assert [c["metric"] for c in calls] == [
                    {"status": "completed", "reason": "caller_hung_up"}
                ]
                p95 = prometheus.wait_for(
                    "histogram_quantile(0.95, sum by (le) "
                    '(voice_agent_turn_latency_seconds_bucket{stage="e2e"}))'
                )
                assert 0 < float(p95[0]["value"][1]) <= 8
                # The dashboard's worker panel: registered and taking calls.
                taking = prometheus.wait_for(
                    "sum(voice_agent_worker_registered * voice_agent_worker_accepting) > 0"
                )
                assert float(taking[0]["value"][1]) == 1
                health = {t["labels"]["job"]: t["health"] for t in prometheus.targets()}
                assert health == {"api": "up", "worker": "up", "prometheus": "up"}
                firing = {r["metric"]["alertname"] for r in prometheus.query("ALERTS")}
                assert {"NoWorkerRegistered", "AllWorkersFull", "VoiceToVoiceSlow"}.isdisjoint(
                    firing
                )
