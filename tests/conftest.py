"""Session-wide test setup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from livekit import api

from tests.livekit_servers import LiveKitServers, LiveKitUnavailable
from tests.postgres_server import PostgresServer, PostgresUnavailable


@pytest.fixture(scope="session", autouse=True)
def _no_implicit_event_loop() -> None:
    """Mark the event loop as explicitly unset. Otherwise the first async test after sync
    ones makes asyncio's `get_event_loop()` create a loop that nobody closes (pytest-asyncio
    asks for the "previous" loop to restore it), and its ResourceWarning surfaces later, in
    whichever test the garbage collector happens to run."""
    asyncio.set_event_loop(None)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on loopback for the whole session. If it cannot start, the tests
    that need it fail (PostgreSQL is a supported database, not an optional one)."""
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as error:
        server.stop()
        pytest.fail(f"PostgreSQL is needed for this test: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def livekit_servers() -> Iterator[LiveKitServers]:
    """The real LiveKit server (with its Redis) on loopback for the whole session. If it cannot
    start, the tests that need it fail: `make test` builds it (`make livekit-servers`)."""
    servers = LiveKitServers()
    try:
        servers.start()
    except LiveKitUnavailable as error:
        pytest.fail(f"the LiveKit server is needed for this test: {error}")
    yield servers
    servers.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema yet), once on each supported database: a
    SQLite file in the test's directory, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.fresh_database() as url:
        yield url


@pytest.fixture
async def livekit_api(livekit_servers: LiveKitServers) -> AsyncIterator[api.LiveKitAPI]:
    """A livekit-api client of the loopback server."""
    client = api.LiveKitAPI(
        livekit_servers.url, livekit_servers.api_key, livekit_servers.api_secret
    )
    yield client
    await client.aclose()
