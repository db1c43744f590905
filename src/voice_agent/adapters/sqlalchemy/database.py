"""The database: engine set-up (SQLite in WAL mode by default), migrations, schema check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""Alembic's script directory, inside the package (installed with it)."""


class SchemaBehindError(RuntimeError):
    """The database schema is older than this code."""


class Database:
    """Owns the async engine. `url` is an SQLAlchemy URL with an async driver
    (sqlite+aiosqlite:///data/voice_agent.db, postgresql+asyncpg://...)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: SQLAlchemy's errors (and echo logs) would otherwise quote the bound
        # values, i.e. transcripts and callers' numbers, into logs and tracebacks.
        self.engine: AsyncEngine = create_async_engine(
            url, pool_pre_ping=not self.is_sqlite, hide_parameters=True
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._before_dispose: list[Callable[[], Awaitable[None]]] = []

    def before_dispose(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run `step` (e.g. stop a heartbeat) when the database is disposed, before the
        engine goes; steps run last registered first."""
        self._before_dispose.append(step)

    async def ping(self) -> None:
        """One round trip to the database (for health probes)."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        try:
            while self._before_dispose:
                await self._before_dispose.pop()()
        finally:
            await self.engine.dispose()

    # -- migrations ------------------------------------------------------------------
    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["database_url"] = self.url
        return config

    async def migrate(self, revision: str = "head") -> None:
        await asyncio.to_thread(command.upgrade, self.alembic_config(), revision)

    async def downgrade(self, revision: str) -> None:
        await asyncio.to_thread(command.downgrade, self.alembic_config(), revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as connection:
            return await connection.run_sync(_current_revision)

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    async def check_schema(self) -> None:
        """Refuse to run against a schema older (or newer) than this code."""
        current, head = await self.current_revision(), self.head_revision()
        if current != head:
            raise SchemaBehindError(
                f"the database schema is at revision {current or 'none (empty database)'} but "
                f"this version needs {head}: run `voice-agent migrate` first"
            )


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
