"""Prometheus, Grafana, Loki and promtail configs: checked with promtool where it applies, and
against what the agent really exports: every metric the dashboard and the alerts query exists
in `/metrics` of the API or of a worker."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.files import ROOT, services
from voice_agent.adapters.livekit import AgentWorker, AssignedJob, LiveKitSettings
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.entrypoints.worker.http import watch_worker

PROMETHEUS = ROOT / "config/prometheus"
DASHBOARD = ROOT / "config/grafana/dashboards/voice-agent.json"
METRIC = re.compile(r"\bvoice_agent_[a-z_]+")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is installed by `make test`"
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=PROMETHEUS)


def test_promtool_accepts_the_scrape_config_and_the_rules() -> None:
    checked = _promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout


def test_every_alert_fires_on_bad_series_and_stays_silent_on_healthy_ones() -> None:
    tested = _promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    silent = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if not case["exp_alerts"]
    }
    assert fired == alerts, "an alert no test fires"
    assert silent == alerts, "an alert no test keeps silent"


def test_the_rule_tests_catch_a_wrong_threshold(tmp_path: Path) -> None:
    (tmp_path / "alerts.yml").write_text(
        (PROMETHEUS / "alerts.yml").read_text().replace(") > 1.5", ") > 3")
    )
    shutil.copy(PROMETHEUS / "alerts.test.yml", tmp_path)
    assert _promtool("test", "rules", str(tmp_path / "alerts.test.yml")).returncode != 0


def _exported() -> set[str]:
    """Sample names the API's and a worker's /metrics expose (histogram series included)."""
    names: set[str] = set()
    for exposition in _expositions():
        for family in text_string_to_metric_families(exposition):
            names.add(family.name)
            if family.type == "histogram":
                names |= {f"{family.name}_{s}" for s in ("bucket", "count", "sum")}
            if family.type == "counter":
                names.add(f"{family.name}_total")
    return names


def _expositions() -> list[str]:
    """The API's exposition, and a worker's (the same plus its own gauges)."""
    api = PrometheusMetrics()
    worker = PrometheusMetrics()
    settings = LiveKitSettings(url="ws://127.0.0.1:9", api_key="k", api_secret="s")

    async def take(_: AssignedJob) -> None:
        return None

    watch_worker(worker, AgentWorker(settings, take, max_jobs=1))
    return [api.exposition().decode(), worker.exposition().decode()]


def _queried(text: str) -> set[str]:
    return set(METRIC.findall(text))


def test_the_dashboard_queries_only_metrics_the_agent_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target["datasource"]["uid"] == "prometheus"
    ]
    assert exprs
    missing = set().union(*(_queried(e) for e in exprs)) - _exported()
    assert missing == set()


def test_the_alerts_query_only_metrics_the_agent_exports() -> None:
    missing = _queried((PROMETHEUS / "alerts.yml").read_text()) - _exported()
    assert missing == set()


def test_the_dashboard_shows_what_operators_watch() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    text = json.dumps(dashboard)
    for metric in (
        "voice_agent_active_calls",
        "voice_agent_calls_total",
        'stage=\\"e2e\\"',
        "voice_agent_answer_seconds_bucket",
        "voice_agent_interruptions_total",
        "voice_agent_provider_errors_total",
        "voice_agent_provider_circuit_state",
        "voice_agent_cost_usd_total",
        "voice_agent_llm_tokens_total",
    ):
        assert metric in text, metric
    uids = {panel["datasource"]["uid"] for panel in dashboard["panels"] if "datasource" in panel}
    provisioned = yaml.safe_load(
        (ROOT / "config/grafana/provisioning/datasources/datasources.yaml").read_text()
    )
    assert uids <= {source["uid"] for source in provisioned["datasources"]}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_loki_and_promtail_configs_fit_together_and_the_compose_stack() -> None:
    loki: dict[str, Any] = yaml.safe_load((ROOT / "config/loki/loki.yaml").read_text())
    promtail: dict[str, Any] = yaml.safe_load((ROOT / "config/promtail/promtail.yaml").read_text())
    port = loki["server"]["http_listen_port"]
    assert promtail["clients"] == [{"url": f"http://loki:{port}/loki/api/v1/push"}]
    assert loki["schema_config"]["configs"][0]["schema"] == "v13"
    assert loki["limits_config"]["retention_period"]
    project = yaml.safe_load((ROOT / "docker-compose.prod.yml").read_text())["name"]
    docker = promtail["scrape_configs"][0]["docker_sd_configs"][0]
    assert docker["filters"][0]["values"] == [f"com.docker.compose.project={project}"]
    prod = services("docker-compose.prod.yml")
    assert f"http://127.0.0.1:{port}/ready" in prod["loki"]["healthcheck"]["test"]
    sources = yaml.safe_load(
        (ROOT / "config/grafana/provisioning/datasources/datasources.yaml").read_text()
    )
    assert {s["url"] for s in sources["datasources"]} == {
        "http://prometheus:9090",
        f"http://loki:{port}",
    }


@pytest.mark.parametrize(("job", "port"), [("api", 8000), ("worker", 8081)])
def test_prometheus_scrapes_the_ports_the_services_serve(job: str, port: int) -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    [scrape] = [s for s in config["scrape_configs"] if s["job_name"] == job]
    prod = services("docker-compose.prod.yml")
    probe = prod[job]["healthcheck"]["test"]
    assert f"http://127.0.0.1:{port}/health" in probe
    text = json.dumps(scrape)
    assert f"{job}:{port}" in text or (f'"port": {port}' in text and f'"{job}"' in text)
