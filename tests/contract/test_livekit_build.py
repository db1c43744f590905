"""The livekit-server the tests run is the Makefile's pinned release, built into a directory
keyed by its version (so a version bump builds anew and other clones reuse a build)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.livekit_servers import livekit_server_binary

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def make(*args: str) -> str:
    out = subprocess.run(
        ["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def pinned_version() -> str:
    found = re.search(r"^LIVEKIT_SERVER_VERSION := v(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "the Makefile pins no LIVEKIT_SERVER_VERSION"
    return found.group(1)


def test_the_built_server_is_the_pinned_release() -> None:
    version = subprocess.run(
        [str(livekit_server_binary()), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.split() == ["livekit-server", "version", pinned_version()]


def test_another_version_builds_into_another_directory() -> None:
    ours = Path(make("print-livekit-server"))
    other = Path(make("print-livekit-server", "LIVEKIT_SERVER_VERSION=v1.9.11"))
    assert ours.parent.name == f"livekit-server-v{pinned_version()}"
    assert other.parent.name == "livekit-server-v1.9.11"
    assert other.parent.parent == ours.parent.parent
