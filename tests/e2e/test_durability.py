"""A process killed mid-call loses nothing but the turn in progress, and the next start
closes the call it left open."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from voice_agent.entrypoints.settings import DEFAULT_GREETING

TURNS_BEFORE_KILL = 4


def _cli(*args: str, env: dict[str, str]) -> list[str]:
    return [sys.executable, "-m", "voice_agent.entrypoints.cli", *args]


def _stored(db: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        calls = connection.execute("SELECT id, status FROM calls ORDER BY started_at").fetchall()
        turns = connection.execute(
            "SELECT call_id, text FROM turns ORDER BY call_id, turn_index"
        ).fetchall()
    return calls, turns


def _wait_for_turns(db: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the call ended before it could be killed"
        if db.exists():
            try:
                if len(_stored(db)[1]) >= count:
                    return
            except sqlite3.OperationalError:
                pass  # the schema is being created
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} turns stored within 60 s")


def test_sigkill_mid_call_keeps_completed_turns_and_the_next_start_aborts_the_call(
    tmp_path: Path,
) -> None:
    db = tmp_path / "calls.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    subprocess.run(_cli("migrate", env=env), env=env, check=True, capture_output=True)
    long_call = tmp_path / "long.yaml"
    questions = [f"Question number {n} please" for n in range(30)]
    long_call.write_text(
        yaml.safe_dump(
            {
                "latency": {
                    "stt_final": 0.05,
                    "llm_ttft": 0.05,
                    "tts_ttfb": 0.02,
                    "tts_chars_per_second": 60,
                },
                "caller": [{"say": q, "duration": 0.5, "after_reply": 0.1} for q in questions],
                "agent": [{"reply": f"Answer {n}."} for n in range(30)],
            }
        )
    )
    process = subprocess.Popen(
        _cli("call", "--script", str(long_call), "--realtime", "--store", env=env),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_turns(db, TURNS_BEFORE_KILL, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    calls, turns = _stored(db)
    assert [status for _, status in calls] == ["active"]
    killed_id = calls[0][0]
    kept = [text for call_id, text in turns if call_id == killed_id]
    assert len(kept) >= TURNS_BEFORE_KILL
    assert kept[:2] == [DEFAULT_GREETING, questions[0]]

    short_call = tmp_path / "short.yaml"
    short_call.write_text(yaml.safe_dump({"caller": [{"hang_up": True, "at": 0.1}]}))
    subprocess.run(
        _cli("call", "--script", str(short_call), "--store", env=env),
        env=env,
        check=True,
        capture_output=True,
    )
    calls, turns = _stored(db)
    statuses = dict(calls)
    assert statuses[killed_id] == "aborted"
    assert [text for call_id, text in turns if call_id == killed_id] == kept
    assert sorted(statuses.values()) == ["aborted", "completed"]
