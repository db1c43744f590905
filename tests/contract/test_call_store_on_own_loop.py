"""The SQL store run on its own loop in a thread (for calls on a fast-forwarded loop) keeps the
repository contract, and refuses a schema that is behind without leaving its thread running."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from tests.contract.call_repository_contract import CallRepositoryContract
from voice_agent.adapters.sqlalchemy import Database, SchemaBehindError
from voice_agent.application.ports.repository import CallRepository
from voice_agent.entrypoints.bootstrap.store import call_store_on_own_loop


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await database.migrate()
    finally:
        await database.dispose()


@pytest.fixture
def repository(database_url: str) -> Iterator[CallRepository]:
    asyncio.run(_migrate(database_url))
    with call_store_on_own_loop(database_url) as repository:
        yield repository


class TestCallStoreOnOwnLoop(CallRepositoryContract):
    """On SQLite and on PostgreSQL (the `database_url` fixture)."""


def test_a_schema_behind_is_refused_and_the_store_thread_ends(database_url: str) -> None:
    with (
        pytest.raises(SchemaBehindError, match="voice-agent migrate"),
        call_store_on_own_loop(database_url),
    ):
        pass
    assert not [t for t in threading.enumerate() if t.name == "call-store"]
