"""Opening the call store at start-up: schema check, crash recovery."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from voice_agent.adapters.resilience import BackoffRetry
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.resilience.retry import RetryPolicy

log = logging.getLogger(__name__)


def storage_retry() -> RetryPolicy:
    """How a call's writes are retried: four attempts, 0.2 s to 2 s apart, enough to ride
    out a locked SQLite file or a database fail-over of a few seconds."""
    return BackoffRetry(max_attempts=4, initial_s=0.2, max_s=2.0, jitter_s=0.1)


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
