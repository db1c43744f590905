"""The built wheel is self-contained: installed into a fresh virtual environment, away from the
source tree, `voice-agent migrate` finds its migrations and brings a database to the head."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from voice_agent.adapters.sqlalchemy import Database

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]


def _run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def _build_wheel(tmp_path: Path) -> Path:
    """A wheel of a clean copy of the project (no build output left in the working tree)."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(PROJECT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT / name, source / name)
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source)
    (wheel,) = dist.glob("voice_agent-*.whl")
    return wheel


def _venv_with(wheel: Path, tmp_path: Path) -> Path:
    """A fresh venv holding only the wheel; its dependencies are borrowed from this venv
    through a .pth line (plain paths: the editable install here is not picked up)."""
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel)
    site_packages = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    )
    borrowed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "borrowed_dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    return venv


def test_the_installed_wheel_migrates_a_database_from_any_directory(tmp_path: Path) -> None:
    venv = _venv_with(_build_wheel(tmp_path), tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    db = tmp_path / "data" / "calls.db"
    url = f"sqlite+aiosqlite:///{db}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"DATABASE_URL": url}

    imported_from = _run(
        venv / "bin" / "python", "-c", "import voice_agent; print(voice_agent.__file__)", env=env
    )
    assert Path(imported_from.strip()).is_relative_to(venv), "the wheel, not the source tree"
    printed = _run(venv / "bin" / "voice-agent", "migrate", cwd=elsewhere, env=env)

    head = Database(url).head_revision()
    assert printed.strip() == f"database schema at revision {head}"
    with sqlite3.connect(db) as connection:
        (stored,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert stored == head
    assert {"calls", "turns", "call_events"} <= tables
