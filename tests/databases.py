"""Databases for the tests that run the agent against a real store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from voice_agent.adapters.sqlalchemy import Database


async def migrated(url: str) -> str:
    """Bring the database at `url` to the schema head; returns `url`."""
    database = Database(url)
    try:
        await database.migrate()
    finally:
        await database.dispose()
    return url


def migrated_sqlite(directory: Path) -> str:
    """A migrated SQLite file `calls.db` in `directory` (for synchronous fixtures)."""
    return asyncio.run(migrated(f"sqlite+aiosqlite:///{directory / 'calls.db'}"))
