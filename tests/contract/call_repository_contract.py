"""The contract every `CallRepository` passes: subclass and provide `repository`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from voice_agent.application.ports.repository import CallRepository
from voice_agent.domain.call import AnswerTime, Call, CallOwner, CallStatus, EndReason
from voice_agent.domain.events import (
    CallerInterrupted,
    DtmfReceived,
    ProviderFailed,
    ToolCalled,
)
from voice_agent.domain.room_events import RoomEvent, RoomEventType
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn
from voice_agent.domain.usage import ProviderUsage

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _call(minutes: int = 0, number: str | None = "+15550100") -> Call:
    return Call(caller_number=number, started_at=T0 + timedelta(minutes=minutes))


def _turn(index: int, text: str = "hello", **kwargs: object) -> Turn:
    return Turn(
        role=Role.AGENT if index % 2 else Role.CALLER,
        text=text,
        index=index,
        started_at=T0 + timedelta(seconds=index),
        **kwargs,  # type: ignore[arg-type]
    )


def _room_event(
    event_id: str, room: str = "call-a", seconds: int = 0, **kwargs: object
) -> RoomEvent:
    return RoomEvent(
        id=event_id,
        type=RoomEventType.PARTICIPANT_JOINED,
        room_name=room,
        created_at=T0 + timedelta(seconds=seconds),
        **kwargs,  # type: ignore[arg-type]
    )


class CallRepositoryContract:
    async def test_a_call_and_its_turns_round_trip(self, repository: CallRepository) -> None:
        call = _call()
        await repository.save_call(call)
        agent = _turn(
            1,
            "We open at nine and close at five.",
            heard_text="We open at nine",
            interrupted=True,
            ended_at=T0 + timedelta(seconds=3),
            latency=LatencyBreakdown(350.0, 170.5, 300.25, 100.0, 783.0),
        )
        await repository.save_turn(call.id, _turn(0, "When do you open?"))
        await repository.save_turn(call.id, agent)
        stored = await repository.get(call.id)
        assert stored is not None
        assert (stored.id, stored.caller_number, stored.status) == (
            call.id,
            "+15550100",
            CallStatus.ACTIVE,
        )
        assert stored.started_at == T0
        assert [t.text for t in stored.turns] == ["When do you open?", agent.text]
        got = stored.turns[1]
        assert (got.heard_text, got.interrupted, got.role) == ("We open at nine", True, Role.AGENT)
        assert got.latency == agent.latency
        assert got.ended_at == agent.ended_at

    async def test_saving_again_updates_instead_of_duplicating(
        self, repository: CallRepository
    ) -> None:
        call = _call()
        await repository.save_call(call)
        turn = _turn(0, "my number is")
        await repository.save_turn(call.id, turn)
        turn.text = "my number is 555 1234"
        await repository.save_turn(call.id, turn)
        call.end(EndReason.GOODBYE, T0 + timedelta(minutes=2))
        await repository.save_call(call)
        stored = await repository.get(call.id)
        assert stored is not None
        assert [t.text for t in stored.turns] == ["my number is 555 1234"]
        assert stored.status is CallStatus.COMPLETED
        assert stored.end_reason is EndReason.GOODBYE
        assert stored.ended_at == T0 + timedelta(minutes=2)

    async def test_usage_and_cost_are_stored_with_the_call(
        self, repository: CallRepository
    ) -> None:
        call = _call()
        await repository.save_call(call)
        call.usage = (
            ProviderUsage("deepgram", stt_audio_seconds=62.5),
            ProviderUsage("groq", llm_prompt_tokens=1200, llm_completion_tokens=80),
        )
        call.cost_usd = 0.0089
        await repository.save_call(call)
        stored = await repository.get(call.id)
        assert stored is not None
        assert stored.usage == call.usage
        assert stored.cost_usd == pytest.approx(0.0089)

    async def test_answer_time_is_stored_with_the_call(self, repository: CallRepository) -> None:
        call = _call()
        call.answer = AnswerTime(joined_ms=412.5)
        await repository.save_call(call)
        joined = await repository.get(call.id)
        call.answer = AnswerTime(joined_ms=412.5, first_audio_ms=1234.25)
        await repository.save_call(call)
        stored = await repository.get(call.id)
        assert joined is not None
        assert stored is not None
        assert joined.answer == AnswerTime(joined_ms=412.5, first_audio_ms=None)
        assert stored.answer == AnswerTime(joined_ms=412.5, first_audio_ms=1234.25)

    async def test_a_call_without_answer_time_reads_back_without_one(
        self, repository: CallRepository
    ) -> None:
        call = _call()
        await repository.save_call(call)
        stored = await repository.get(call.id)
        assert stored is not None
        assert stored.answer is None

    async def test_turns_come_back_in_conversation_order(self, repository: CallRepository) -> None:
        call = _call()
        await repository.save_call(call)
        for index in (2, 0, 1):
            await repository.save_turn(call.id, _turn(index, f"turn {index}"))
        stored = await repository.get(call.id)
        assert stored is not None
        assert [t.index for t in stored.turns] == [0, 1, 2]

    async def test_an_unknown_call_is_none_and_cannot_take_turns(
        self, repository: CallRepository
    ) -> None:
        assert await repository.get("no-such-call") is None
        with pytest.raises(KeyError, match="no-such-call"):
            await repository.save_turn("no-such-call", _turn(0))

    async def test_events_round_trip_in_order(self, repository: CallRepository) -> None:
        call = _call()
        await repository.save_call(call)
        events = [
            DtmfReceived(call.id, 10.0, "5"),
            CallerInterrupted(call.id, 11.5, 1.25),
            ToolCalled(call.id, 12.0, "end_call", {"reason": "done"}),
            ProviderFailed(call.id, 13.0, "transfer", "transfer busy: SIP 486", outcome="busy"),
        ]
        for event in events:
            await repository.record_event(event)
        assert await repository.events(call.id) == events

    async def test_list_pages_newest_first_with_filters(self, repository: CallRepository) -> None:
        calls = [_call(minutes=n) for n in range(5)]
        for call in calls:
            await repository.save_call(call)
        calls[1].end(EndReason.CALLER_HUNG_UP, T0 + timedelta(minutes=3))
        await repository.save_call(calls[1])
        page = await repository.list(limit=2, offset=1)
        assert page.total == 5
        assert [c.id for c in page.calls] == [calls[3].id, calls[2].id]
        completed = await repository.list(status=CallStatus.COMPLETED)
        assert [c.id for c in completed.calls] == [calls[1].id]
        window = await repository.list(
            started_after=T0 + timedelta(minutes=1), started_before=T0 + timedelta(minutes=3)
        )
        assert [c.id for c in window.calls] == [calls[2].id, calls[1].id]
        assert window.total == 2

    async def test_times_are_instants_whatever_their_utc_offset(
        self, repository: CallRepository
    ) -> None:
        paris, new_york = timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))
        calls = [_call(minutes=n) for n in range(3)]
        for call in calls:
            call.started_at = call.started_at.astimezone(paris)
            await repository.save_call(call)
        turn = _turn(0, "bonjour")
        turn.started_at = T0.astimezone(new_york)
        await repository.save_turn(calls[0].id, turn)
        stored = await repository.get(calls[0].id)
        assert stored is not None
        assert stored.started_at == T0
        assert stored.turns[0].started_at == T0
        since = await repository.list(
            started_after=(T0 + timedelta(minutes=1)).astimezone(new_york)
        )
        assert [c.id for c in since.calls] == [calls[2].id, calls[1].id]

    @pytest.mark.parametrize("offset", [timedelta(hours=5, minutes=30), timedelta(hours=-8)])
    async def test_time_filters_compare_instants_whatever_the_offset(
        self, repository: CallRepository, offset: timedelta
    ) -> None:
        zone = timezone(offset)
        calls = [_call(minutes=n) for n in range(4)]
        # Started at 09:03 UTC, but given in the client's offset (14:33+05:30, 01:03-08:00).
        calls[3].started_at = calls[3].started_at.astimezone(zone)
        for call in calls:
            await repository.save_call(call)
        window = await repository.list(
            started_after=(T0 + timedelta(minutes=1)).astimezone(zone),
            started_before=(T0 + timedelta(minutes=3)).astimezone(zone),
        )
        assert [c.id for c in window.calls] == [calls[2].id, calls[1].id]
        assert window.total == 2
        later = await repository.list(started_after=(T0 + timedelta(minutes=3)).astimezone(zone))
        assert [c.id for c in later.calls] == [calls[3].id]
        stored = await repository.get(calls[3].id)
        assert stored is not None
        assert stored.started_at == T0 + timedelta(minutes=3)
        # Without an offset, a filter is UTC.
        naive = await repository.list(started_before=datetime(2026, 11, 25, 9, 1))
        assert [c.id for c in naive.calls] == [calls[0].id]

    async def test_abort_active_closes_only_calls_left_active(
        self, repository: CallRepository
    ) -> None:
        live, done = _call(), _call(minutes=1)
        done.end(EndReason.GOODBYE, T0 + timedelta(minutes=2))
        await repository.save_call(live)
        await repository.save_call(done)
        await repository.save_turn(live.id, _turn(0, "kept"))
        assert await repository.abort_active(T0 + timedelta(hours=1)) == 1
        aborted = await repository.get(live.id)
        assert aborted is not None
        assert aborted.status is CallStatus.ABORTED
        assert aborted.end_reason is EndReason.PROCESS_DIED
        assert [t.text for t in aborted.turns] == ["kept"]
        still_done = await repository.get(done.id)
        assert still_done is not None
        assert still_done.status is CallStatus.COMPLETED
        assert await repository.abort_active(T0 + timedelta(hours=2)) == 0

    async def test_abort_active_spares_the_calls_of_live_owners(
        self, repository: CallRepository
    ) -> None:
        alive = CallOwner("alive", "host-a", 100, T0)
        gone = CallOwner("gone", "host-b", 200, T0)
        for process in (alive, gone):
            await repository.register_owner(process)
        calls: dict[str | None, Call] = {name: _call() for name in ("alive", "gone", None)}
        for owner_id, call in calls.items():
            call.owner = owner_id
            await repository.save_call(call)
        assert await repository.abort_active(T0 + timedelta(hours=1), keep_owners={"alive"}) == 2
        statuses: dict[str | None, CallStatus] = {}
        for owner_id, call in calls.items():
            stored = await repository.get(call.id)
            assert stored is not None
            if owner_id is not None:  # else the repository's own owner, if it has one
                assert stored.owner == owner_id
            statuses[owner_id] = stored.status
        assert statuses == {
            "alive": CallStatus.ACTIVE,
            "gone": CallStatus.ABORTED,
            None: CallStatus.ABORTED,
        }
        assert await repository.owners() == (alive,)

    async def test_owners_refresh_their_heartbeat_and_are_released(
        self, repository: CallRepository
    ) -> None:
        first = CallOwner("first", "host-a", 100, T0)
        await repository.register_owner(first)
        await repository.register_owner(CallOwner("second", "host-a", 101, T0))
        later = CallOwner("first", "host-a", 100, T0 + timedelta(seconds=10))
        await repository.register_owner(later)
        await repository.release_owner("second")
        ours = [o for o in await repository.owners() if o.id in ("first", "second")]
        assert ours == [later]

    async def test_stored_objects_are_copies(self, repository: CallRepository) -> None:
        call = _call()
        await repository.save_call(call)
        turn = _turn(0, "original")
        await repository.save_turn(call.id, turn)
        turn.text = "changed in memory only"
        stored = await repository.get(call.id)
        assert stored is not None
        assert stored.turns[0].text == "original"

    async def test_room_events_round_trip_in_the_order_they_happened(
        self, repository: CallRepository
    ) -> None:
        caller = _room_event(
            "EV_caller",
            seconds=1,
            participant_identity="sip_+15550100123",
            participant_kind="sip",
            sip_call_id="SCL_abc123",
            phone_number="+15550100123",
        )
        started = RoomEvent(
            "EV_started", RoomEventType.ROOM_STARTED, "call-a", T0 + timedelta(seconds=1)
        )
        agent = _room_event(
            "EV_agent", seconds=1, participant_identity="agent", participant_kind="agent"
        )
        other_room = _room_event("EV_other", room="call-b", seconds=0)
        finished = RoomEvent(
            "EV_finished", RoomEventType.ROOM_FINISHED, "call-a", T0 + timedelta(seconds=9)
        )
        # Delivered out of order: `created_at` orders them, then arrival (whole seconds tie).
        for event in (finished, started, caller, agent, other_room):
            assert await repository.record_room_event(event) is True
        page = await repository.room_events(room="call-a")
        assert page.total == 4
        assert page.events == [started, caller, agent, finished]
        everything = await repository.room_events()
        assert [e.id for e in everything.events] == [
            "EV_other",
            "EV_started",
            "EV_caller",
            "EV_agent",
            "EV_finished",
        ]
        second = await repository.room_events(room="call-a", limit=2, offset=1)
        assert (second.total, [e.id for e in second.events]) == (4, ["EV_caller", "EV_agent"])
        assert (await repository.room_events(room="no-such-room")).total == 0

    async def test_a_room_event_delivered_twice_is_stored_once_as_first_received(
        self, repository: CallRepository
    ) -> None:
        first = _room_event("EV_retried", participant_identity="caller")
        retry = _room_event("EV_retried", seconds=5, participant_identity="someone else")
        assert await repository.record_room_event(first) is True
        assert await repository.record_room_event(retry) is False
        assert await repository.record_room_event(first) is False
        page = await repository.room_events()
        assert (page.total, page.events) == (1, [first])

    async def test_deliveries_of_one_event_at_the_same_time_store_it_once(
        self, repository: CallRepository
    ) -> None:
        event = _room_event("EV_raced")
        outcomes = await asyncio.gather(*(repository.record_room_event(event) for _ in range(4)))
        assert sorted(outcomes) == [False, False, False, True]
        assert (await repository.room_events()).events == [event]

    async def test_room_event_times_are_instants_in_utc(self, repository: CallRepository) -> None:
        paris = timezone(timedelta(hours=1))
        event = _room_event("EV_paris")
        await repository.record_room_event(
            RoomEvent(event.id, event.type, event.room_name, event.created_at.astimezone(paris))
        )
        (stored,) = (await repository.room_events()).events
        assert stored.created_at == T0
        assert stored.created_at.utcoffset() == timedelta(0)

    async def test_room_events_leave_the_calls_alone(self, repository: CallRepository) -> None:
        call = _call()
        await repository.save_call(call)
        await repository.save_turn(call.id, _turn(0, "kept"))
        await repository.record_room_event(
            RoomEvent("EV_end", RoomEventType.ROOM_FINISHED, call.id, T0 + timedelta(minutes=1))
        )
        stored = await repository.get(call.id)
        assert stored is not None
        assert (stored.status, stored.ended_at, [t.text for t in stored.turns]) == (
            CallStatus.ACTIVE,
            None,
            ["kept"],
        )
        assert (await repository.list()).total == 1
