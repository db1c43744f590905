"""The livekit-server the tests run is the Makefile's pinned release, built into a directory
keyed by its version (so a version bump builds anew and other clones reuse a build); the SIP
service is built from the vendored source, keyed by its version and the files' hash."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.livekit_servers import livekit_server_binary, livekit_sip_binary

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


def test_the_built_sip_service_is_the_vendored_release() -> None:
    version = subprocess.run(
        [str(livekit_sip_binary()), "--version"], capture_output=True, text=True, check=True
    )
    pinned = re.search(r"^LIVEKIT_SIP_VERSION := v(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert pinned, "the Makefile pins no LIVEKIT_SIP_VERSION"
    assert version.stdout.split() == ["SIP", "version", pinned.group(1)]


def test_an_edit_to_the_vendored_sip_source_builds_into_another_directory(tmp_path: Path) -> None:
    source = ROOT / "third_party" / "livekit-sip"
    edited = tmp_path / "livekit-sip"
    shutil.copytree(source, edited)
    main = edited / "cmd" / "livekit-sip" / "main.go"
    main.write_text(main.read_text() + "\n// patched\n")
    ours = Path(make("print-livekit-sip"))
    other = Path(make("print-livekit-sip", f"LIVEKIT_SIP_SOURCE={edited}"))
    assert ours.parent.name.startswith("livekit-sip-v")
    assert other.parent != ours.parent
    assert other.parent.parent == ours.parent.parent
