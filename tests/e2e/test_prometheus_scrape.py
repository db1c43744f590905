"""A real Prometheus with the project's scrape config and alert rules, scraping a running
`voice-agent serve` after a call on the local stack: the dashboard's queries return data and
the rules load. (What the compose stack's Prometheus does, with loopback targets.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent_server import agent_server
from tests.contract.local_models import spoken
from tests.phone_client import agent_turns, phone_call
from tests.prometheus_server import prometheus_server

pytestmark = pytest.mark.slow


async def test_prometheus_scrapes_calls_and_latency_from_the_api(tmp_path: Path) -> None:
    with agent_server(tmp_path) as server:
        api = server.url.removeprefix("http://")
        with prometheus_server({"api": api}) as prometheus:
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
            [target] = [t for t in prometheus.targets() if t["labels"]["job"] == "api"]
            assert target["health"] == "up"
            rules = prometheus.query("ALERTS")  # the rules loaded and evaluate
            assert all(r["metric"]["alertname"] != "VoiceToVoiceSlow" for r in rules)
