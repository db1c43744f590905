import asyncio
from datetime import UTC, datetime

import pytest

from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.application.session.inputs import Input, TimerFired
from voice_agent.application.session.recorder import CallRecorder
from voice_agent.application.session.timers import Timers
from voice_agent.domain.call import Call
from voice_agent.domain.turn import Role, Turn

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.looptime
async def test_a_rescheduled_timer_makes_the_earlier_firing_stale() -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    timers = Timers(inputs)
    timers.schedule("end_of_turn", 0.1)
    await asyncio.sleep(0.2)  # fired and queued
    timers.schedule("end_of_turn", 0.5)
    stale = await inputs.get()
    assert isinstance(stale, TimerFired)
    assert not timers.is_current(stale)
    fresh = await inputs.get()
    assert isinstance(fresh, TimerFired)
    assert timers.is_current(fresh)


@pytest.mark.looptime
async def test_a_cancelled_timer_never_fires() -> None:
    inputs: asyncio.Queue[Input] = asyncio.Queue()
    timers = Timers(inputs)
    timers.schedule("silence", 0.1)
    timers.cancel("silence")
    await asyncio.sleep(1)
    assert inputs.empty()


class FlakyRepository(InMemoryCallRepository):
    def __init__(self) -> None:
        super().__init__()
        self.fail_next = True

    async def save_turn(self, call_id: str, turn: Turn) -> None:
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        await super().save_turn(call_id, turn)


async def test_the_recorder_writes_in_order_and_survives_a_failed_write() -> None:
    repository = FlakyRepository()
    call = Call(caller_number="+15550100", started_at=NOW)
    recorder = CallRecorder(repository, call.id)
    recorder.start()
    recorder.save_call(call)
    lost = Turn(Role.CALLER, "lost", index=0, started_at=NOW)
    kept = Turn(Role.CALLER, "kept", index=1, started_at=NOW)
    recorder.save_turn(lost)
    recorder.save_turn(kept)
    kept.text = "changed after the save was queued"
    await recorder.close()
    stored = await repository.get(call.id)
    assert stored is not None
    assert [t.text for t in stored.turns] == ["kept"]
    assert recorder.failures == 1
