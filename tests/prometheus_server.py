"""A real Prometheus (Debian `prometheus`) on loopback, running the project's own scrape config
(config/prometheus/prometheus.yml) and alert rules with the targets pointed at processes the
test started: what the compose stack's Prometheus does, minus Docker's DNS."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.agent_server import free_port

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config/prometheus"
START_TIMEOUT_S = 30.0
SCRAPE_INTERVAL = "1s"


class PrometheusServer:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant query's result vector (raises on a query error)."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(address, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def targets(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=5) as response:
            active: list[dict[str, Any]] = json.load(response)["data"]["activeTargets"]
            return active

    def wait_for(self, promql: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Poll `promql` until it returns data (scrapes happen every second)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if result := self.query(promql):
                return result
            time.sleep(0.25)  # polling the server for scraped data, not timing an assertion
        raise TimeoutError(f"no data for {promql!r} within {timeout_s:g} s; {self.targets()}")


def project_config(targets: Mapping[str, str]) -> dict[str, Any]:
    """The project's scrape config with each job's targets replaced by `targets[job]`
    (host:port); jobs not named keep their own. The rules file stays the project's."""
    config: dict[str, Any] = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = SCRAPE_INTERVAL
    config["global"]["evaluation_interval"] = SCRAPE_INTERVAL
    for job in config["scrape_configs"]:
        if job["job_name"] in targets:
            job.pop("dns_sd_configs", None)
            job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@contextlib.contextmanager
def prometheus_server(targets: Mapping[str, str]) -> Iterator[PrometheusServer]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus (Debian package prometheus) is installed by `make test`"
    root = Path(tempfile.mkdtemp(prefix="voice-agent-prometheus-"))
    shutil.copy(CONFIG / "alerts.yml", root / "alerts.yml")
    port = free_port()
    own = {"prometheus": f"127.0.0.1:{port}"}
    (root / "prometheus.yml").write_text(yaml.safe_dump(project_config({**own, **targets})))
    log = root / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = PrometheusServer(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: PrometheusServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"prometheus exited:\n{server.log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)  # polling for start-up, not timing an assertion
    raise TimeoutError("prometheus did not become ready")
