"""Session-wide test setup."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture(scope="session", autouse=True)
def _no_implicit_event_loop() -> None:
    """Mark the event loop as explicitly unset. Otherwise the first async test after sync
    ones makes asyncio's `get_event_loop()` create a loop that nobody closes (pytest-asyncio
    asks for the "previous" loop to restore it), and its ResourceWarning surfaces later, in
    whichever test the garbage collector happens to run."""
    asyncio.set_event_loop(None)
