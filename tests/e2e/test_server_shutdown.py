"""`voice-agent serve` told to stop (SIGTERM) in the middle of a web call: the call is ended
as `server_shutdown` and stored, not mistaken for the caller hanging up."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.agent_server import agent_server
from tests.phone_client import agent_turns, phone_call

pytestmark = pytest.mark.slow

EXIT_TIMEOUT_S = 30


async def test_sigterm_during_a_call_stores_it_as_ended_by_the_server_shutdown(
    tmp_path: Path,
) -> None:
    with agent_server(tmp_path) as server:
        async with phone_call(server.ws_url) as phone:
            await phone.wait_until("the greeting", lambda: len(agent_turns(phone)) == 1)
            call_id = phone.of("ready")[0]["call_id"]
            os.killpg(server.process.pid, signal.SIGTERM)
            code = await asyncio.to_thread(server.process.wait, EXIT_TIMEOUT_S)
    assert code in (0, -signal.SIGTERM), server.log_text()
    with sqlite3.connect(f"file:{tmp_path / 'calls.db'}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT status, end_reason, ended_at IS NOT NULL FROM calls WHERE id = ?", (call_id,)
        ).fetchone()
        turns = db.execute("SELECT role FROM turns WHERE call_id = ?", (call_id,)).fetchall()
    assert row == ("completed", "server_shutdown", 1), server.log_text()
    assert turns[0] == ("agent",)
