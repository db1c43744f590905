"""Moments in time. Everything stored is UTC; a datetime without an offset is read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC (`14:30+05:30` is `09:00Z`); a naive datetime is taken as
    UTC already."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
