"""A process killed mid-call loses nothing but the turn in progress, and the next start
closes the call it left open: on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from voice_agent.entrypoints.bootstrap.settings import DEFAULT_GREETING

TURNS_BEFORE_KILL = 4

Rows = list[tuple[str, str]]


def _cli(*args: str, env: dict[str, str]) -> list[str]:
    return [sys.executable, "-m", "voice_agent.entrypoints.cli.main", *args]


def _run_to_the_end(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command[3:]} failed:\n{done.stderr}"


async def _read(url: str) -> tuple[Rows, Rows]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            calls = await connection.execute(
                text("SELECT id, status FROM calls ORDER BY started_at")
            )
            turns = await connection.execute(
                text("SELECT call_id, text FROM turns ORDER BY call_id, turn_index")
            )
            return [(r[0], r[1]) for r in calls], [(r[0], r[1]) for r in turns]
    finally:
        await engine.dispose()


def _stored(url: str) -> tuple[Rows, Rows]:
    """What another process reads from the database: (call id, status), (call id, text)."""
    return asyncio.run(_read(url))


def _wait_for_turns(url: str, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the call ended before it could be killed"
        if len(_stored(url)[1]) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} turns stored within 60 s")


QUESTIONS = [f"Question number {n} please" for n in range(30)]


def _start_long_call(
    tmp_path: Path, env: dict[str, str], *, stderr: int
) -> subprocess.Popen[bytes]:
    """A 30-question scripted call on the wall clock, stored in the migrated `DATABASE_URL`."""
    _run_to_the_end(_cli("migrate", env=env), env=env)
    long_call = tmp_path / "long.yaml"
    long_call.write_text(
        yaml.safe_dump(
            {
                "latency": {
                    "stt_final": 0.05,
                    "llm_ttft": 0.05,
                    "tts_ttfb": 0.02,
                    "tts_chars_per_second": 60,
                },
                "caller": [{"say": q, "duration": 0.5, "after_reply": 0.1} for q in QUESTIONS],
                "agent": [{"reply": f"Answer {n}."} for n in range(len(QUESTIONS))],
            }
        )
    )
    return subprocess.Popen(
        _cli("call", "--script", str(long_call), "--realtime", "--store", env=env),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def test_sigkill_mid_call_keeps_completed_turns_and_the_next_start_aborts_the_call(
    tmp_path: Path, database_url: str
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    process = _start_long_call(tmp_path, env, stderr=subprocess.DEVNULL)
    try:
        _wait_for_turns(database_url, TURNS_BEFORE_KILL, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    calls, turns = _stored(database_url)
    assert [status for _, status in calls] == ["active"]
    killed_id = calls[0][0]
    kept = [said for call_id, said in turns if call_id == killed_id]
    assert len(kept) >= TURNS_BEFORE_KILL
    assert kept[:2] == [DEFAULT_GREETING, QUESTIONS[0]]

    short_call = tmp_path / "short.yaml"
    short_call.write_text(yaml.safe_dump({"caller": [{"hang_up": True, "at": 0.1}]}))
    _run_to_the_end(_cli("call", "--script", str(short_call), "--store", env=env), env=env)
    calls, turns = _stored(database_url)
    statuses = dict(calls)
    assert statuses[killed_id] == "aborted"
    assert [said for call_id, said in turns if call_id == killed_id] == kept
    assert sorted(statuses.values()) == ["aborted", "completed"]


def test_sigterm_mid_call_ends_and_stores_the_call_as_cancelled(
    tmp_path: Path, database_url: str
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    process = _start_long_call(tmp_path, env, stderr=subprocess.PIPE)
    try:
        _wait_for_turns(database_url, TURNS_BEFORE_KILL, process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM
    assert b"stored as cancelled" in stderr
    calls = asyncio.run(_ended(database_url))
    assert calls == [("failed", "cancelled")]
    assert len(_stored(database_url)[1]) >= TURNS_BEFORE_KILL


async def _ended(url: str) -> list[tuple[str, str]]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT status, end_reason FROM calls"))
            return [(r[0], r[1]) for r in rows]
    finally:
        await engine.dispose()
