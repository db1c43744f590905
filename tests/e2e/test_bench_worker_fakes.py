"""`bench worker-fakes` runs real calls through the worker: each caller is answered, heard
and answered back, and every agent frame's pacing is measured."""

import pytest
from bench.worker_fakes import run

pytestmark = pytest.mark.slow


async def test_every_call_is_answered_and_every_question_gets_its_reply() -> None:
    report = await run(calls=2, turns=1)
    assert (report["assigned"], report["answered"], report["ended"]) == (2, 2, 2)
    assert report["agent_turns_answered"] == 2
    assert report["frames_measured"] > 100  # two greetings and two replies, 20 ms frames
