"""The compose files: valid against the compose specification's JSON schema (vendored in
check-jsonschema), and held to the operators' rules: health checks and restart policies on
every service, no secret literal, pinned images, and the LiveKit config files the tests use."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from tests.deploy.files import COMPOSE_FILES, ROOT, makefile_variable, services
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.worker.main import GOODBYE_TIMEOUT_S

SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN", re.I)
ONLY_REFERENCES = re.compile(r"^(\$\{[^}]+\}|[\s:])*$")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


def _check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *args], capture_output=True, text=True
    )


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_valid_against_the_compose_specification(name: str) -> None:
    checked = _check_jsonschema("--builtin-schema", "vendor.compose-spec", str(ROOT / name))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_check_refuses_an_invalid_file(tmp_path: Any) -> None:
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  api:\n    image: x:1\n    healthcheck: {tset: [CMD]}\n")
    checked = _check_jsonschema("--builtin-schema", "vendor.compose-spec", str(broken))
    assert checked.returncode != 0


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_service_has_a_restart_policy_and_a_health_check(name: str) -> None:
    found = services(name)
    one_shot = _one_shot_services(found)
    for service, spec in found.items():
        assert spec.get("restart") in ("always", "unless-stopped", "on-failure:3"), service
        health = spec.get("healthcheck")
        assert isinstance(health, dict), f"{service} has no health check"
        if service in one_shot:
            # A job that runs to completion: its dependants wait for it to exit successfully.
            assert health == {"disable": True}, service
            assert spec["restart"] == "on-failure:3", service
        else:
            assert health["test"][0] == "CMD", service
            assert health.get("interval"), service
            assert health.get("retries"), service


def _one_shot_services(found: dict[str, dict[str, Any]]) -> set[str]:
    return {
        dependency
        for spec in found.values()
        for dependency, condition in (spec.get("depends_on") or {}).items()
        if condition.get("condition") == "service_completed_successfully"
    }


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_no_secret_is_written_in_a_compose_file(name: str) -> None:
    for service, spec in services(name).items():
        for key, value in (spec.get("environment") or {}).items():
            text = str(value)
            if SECRET_NAME.search(key):
                assert ONLY_REFERENCES.match(text), f"{service}: {key} is a literal"
            for password in URL_PASSWORD.findall(text):
                assert ONLY_REFERENCES.match(password), f"{service}: password in {key}"
        assert ".env" in str(spec.get("env_file", ".env")), service


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_image_is_pinned(name: str) -> None:
    for service, spec in services(name).items():
        image = spec["image"]
        assert "@sha256:" in image or re.search(r":[^/:]+$", image), f"{service}: {image}"
        tag = image.rsplit(":", 1)[-1]
        assert tag not in ("latest", "stable", "main"), image
        assert re.search(r"\d", tag), image


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_livekit_runs_the_version_and_config_files_the_tests_run(name: str) -> None:
    found = services(name)
    version = makefile_variable("LIVEKIT_SERVER_VERSION")
    assert found["livekit"]["image"] == f"livekit/livekit-server:{version}"
    assert found["sip"]["image"] == f"livekit/sip:{makefile_variable('LIVEKIT_SIP_VERSION')}"
    mounts = [*found["livekit"]["volumes"], *found["sip"]["volumes"]]
    assert "./config/livekit/livekit.yaml:/etc/livekit/livekit.yaml:ro" in mounts
    assert "./config/livekit/sip.yaml:/sip/config.yaml:ro" in mounts


def test_the_sip_service_takes_its_credentials_from_the_environment() -> None:
    # livekit-sip parses its file over the environment's values: a key in the file would win.
    sip = yaml.safe_load((ROOT / "config/livekit/sip.yaml").read_text())
    assert {"api_key", "api_secret", "ws_url"}.isdisjoint(sip)
    for name in COMPOSE_FILES:
        environment = services(name)["sip"]["environment"]
        assert {"LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_WS_URL"} <= set(environment)


def test_production_workers_scale_and_share_postgresql() -> None:
    found = services("docker-compose.prod.yml")
    worker = found["worker"]
    assert "container_name" not in worker, "replicas would clash"
    assert "ports" not in worker, "replicas would clash"
    assert worker["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert found["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert found["migrate"]["command"] == ["migrate"]
    for service, spec in found.items():
        limits = spec.get("deploy", {}).get("resources", {}).get("limits", {})
        assert limits.get("memory"), f"{service} has no memory limit"
        assert limits.get("cpus"), f"{service} has no CPU limit"


def _duration_s(text: str) -> float:
    """A compose duration (`5m15s`, `90s`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([hms])", text))


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_a_stopped_worker_has_time_to_drain_and_say_goodbye_before_it_is_killed(name: str) -> None:
    grace = _duration_s(services(name)["worker"]["stop_grace_period"])
    drain = Settings(_env_file=None).worker_drain_timeout_s
    assert grace > drain + GOODBYE_TIMEOUT_S
