"""The container targets of the Makefile, dry-run (`make -n`: no Docker engine here): which
stack file and image they use, and that `up` refuses to start without `.env`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.deploy.files import ROOT


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-n", *args], cwd=cwd, capture_output=True, text=True)


def _with_env(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "config/build").mkdir(parents=True)
    shutil.copy(ROOT / "config/build/llama-cmake-args", tmp_path / "config/build")
    (tmp_path / ".env").write_text("API_KEY=x\n")
    return tmp_path


def test_development_is_the_default_stack_with_local_models() -> None:
    assert (
        "docker build --build-arg LOCAL_MODELS=true -t voice-agent:0.1.0 ."
        in make("docker-build").stdout
    )


def test_production_builds_without_local_models_and_scales_workers(tmp_path: Path) -> None:
    prod = ("COMPOSE_FILE=docker-compose.prod.yml", "WORKERS=3")
    assert "LOCAL_MODELS=false" in make("docker-build", *prod).stdout
    up = make("up", *prod, cwd=_with_env(tmp_path))
    assert up.returncode == 0, up.stderr
    assert "docker compose up -d --build --scale worker=3" in up.stdout


def test_up_and_migrate_refuse_without_an_env_file(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "config/build").mkdir(parents=True)
    shutil.copy(ROOT / "config/build/llama-cmake-args", tmp_path / "config/build")
    for target in ("up", "migrate"):
        refused = subprocess.run(["make", target], cwd=tmp_path, capture_output=True, text=True)
        assert refused.returncode != 0
        assert "cp .env.template .env" in refused.stderr


def test_health_probes_the_api_and_every_worker_replica() -> None:
    health = make("health").stdout
    assert "exec -T api python -m voice_agent.entrypoints.cli.probe" in health
    assert "http://127.0.0.1:8000/health" in health
    assert "--index $i worker" in health
    assert "http://127.0.0.1:8081/health" in health
