"""A throwaway PostgreSQL cluster for the tests: `initdb` in a temporary directory, served on
loopback only (no Unix socket), durability off for speed, its time zone not UTC. The binaries
come from the Debian `postgresql` package (`make system-deps`). PostgreSQL refuses to run as
root, so as root the server runs as the `postgres` user the package creates."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SERVER_USER = "postgres"
"""The unprivileged system user the server runs as when the tests run as root."""

SUPERUSER = "voice_agent_tests"
"""The database superuser created by `initdb`; the server asks it for its password over TCP."""


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing or the server did not start."""


def _bin_dir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: "
            "install the Debian package `postgresql` (`make system-deps` does)"
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """One running cluster. `database_url()` creates a fresh, empty database per call."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.password = secrets.token_hex(16)
        self.port = 0
        self._root = Path(tempfile.mkdtemp(prefix="voice-agent-postgres-"))
        self._data = self._root / "data"
        self._log = self._root / "server.log"
        self._as_root = os.geteuid() == 0
        self._started = False

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        password_file = self._root / "password"
        password_file.write_text(self.password)
        if self._as_root:
            account = self._server_account()
            os.chown(self._root, account.pw_uid, account.pw_gid)
            os.chown(password_file, account.pw_uid, account.pw_gid)
        self._run(
            "initdb",
            f"--pgdata={self._data}",
            f"--username={SUPERUSER}",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        password_file.unlink()
        # A port freed by the probe can be taken before the server binds it: retry then.
        for _attempt in range(3):
            self.port = _free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={self.port}",
                    "-c unix_socket_directories=''",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                    # Not UTC, so that a time stored or compared in the server's zone shows.
                    "-c timezone=America/New_York",
                ]
            )
            started = self._run(
                "pg_ctl",
                "start",
                "--wait",
                "--timeout=60",
                f"--pgdata={self._data}",
                f"--log={self._log}",
                f"--options={options}",
                check=False,
            )
            if started.returncode == 0:
                self._started = True
                return
        raise PostgresUnavailable(f"the PostgreSQL server did not start:\n{self._server_log()}")

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "stop", "--mode=immediate", f"--pgdata={self._data}", check=False)
            self._started = False
        shutil.rmtree(self._root, ignore_errors=True)

    # -- databases --------------------------------------------------------------------
    def url(self, database: str = "postgres", *, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"test_{secrets.token_hex(6)}"
        self._client("createdb", name)
        return name

    def drop_database(self, name: str) -> None:
        self._client("dropdb", "--force", name)

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """The URL of a new empty database, dropped (connections and all) afterwards."""
        name = self.create_database()
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)

    # -- helpers ----------------------------------------------------------------------
    def _server_account(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as: "
                "install the Debian package `postgresql` (`make system-deps` does)"
            ) from None

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / program), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, cwd=self._root, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise PostgresUnavailable(
                f"{program} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def _client(self, program: str, *args: str) -> None:
        connection = ["--host=127.0.0.1", f"--port={self.port}", f"--username={SUPERUSER}"]
        subprocess.run(
            [str(self.bin / program), *connection, *args],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def _server_log(self) -> str:
        try:
            return self._log.read_text()
        except OSError:
            return "(no server log)"
