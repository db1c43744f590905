"""Opening the call store at start-up: schema check, crash recovery."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository

log = logging.getLogger(__name__)


async def open_call_store(
    url: str, *, migrate: bool = False
) -> tuple[Database, SqlAlchemyCallRepository]:
    """Connect, refuse a schema that is behind (unless `migrate`), and mark calls that a
    dead process left active as aborted. Run before taking any call."""
    database = Database(url)
    try:
        if migrate:
            await database.migrate()
        await database.check_schema()
        repository = SqlAlchemyCallRepository(database)
        aborted = await repository.abort_active(datetime.now(UTC))
    except BaseException:
        await database.dispose()
        raise
    if aborted:
        log.warning("marked %d call(s) left active by a dead process as aborted", aborted)
    return database, repository
