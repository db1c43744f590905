"""The loopback LiveKit fixture leaves nothing behind: no process and no temporary files,
whether the servers stop normally or one of them fails to start."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_servers import livekit_server as livekit_servers

from tests.livekit_servers import LiveKitServers, LiveKitUnavailable

pytestmark = pytest.mark.slow


class RecordingServers(LiveKitServers):
    """Remembers every process it spawned (the fixture forgets them once stopped)."""

    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[livekit_servers._Process] = []

    def _spawn(
        self, name: str, command: list[str], log_name: str, env: dict[str, str] | None = None
    ) -> livekit_servers._Process:
        process = super()._spawn(name, command, log_name, env)
        self.spawned.append(process)
        return process

    @property
    def root(self) -> Path:
        return self._root


def test_stopping_ends_both_servers_and_removes_their_files() -> None:
    servers = RecordingServers()
    servers.start()
    assert [p.name for p in servers.spawned] == ["redis-server", "livekit-server"]
    assert not any(p.exited() for p in servers.spawned)

    servers.stop()

    assert all(p.exited() for p in servers.spawned)
    assert not servers.root.exists()


def test_a_server_that_cannot_start_is_reported_with_its_log_and_leaves_nothing_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "livekit.yaml"
    broken.write_text("port: 7880\nnot_a_livekit_setting: true\n")
    monkeypatch.setattr(livekit_servers, "SERVER_CONFIG", broken)
    servers = RecordingServers()

    with pytest.raises(LiveKitUnavailable, match="livekit-server did not start") as failed:
        servers.start()

    assert "not_a_livekit_setting" in str(failed.value)
    assert [p.name for p in servers.spawned] == ["redis-server"] + ["livekit-server"] * 3
    assert all(p.exited() for p in servers.spawned)
    assert not servers.root.exists()
