"""`LiveKitCallTransport`'s call control on a scripted room: which participant is the caller,
how the caller hangs up, transfers and their failures, key presses in and out."""

from __future__ import annotations

import asyncio
import gc
import io
import itertools
import json
import logging
from collections.abc import AsyncIterator

import pytest

from tests.scripted_room import ScriptedRoom, ScriptedSipService, participant, sip_caller
from voice_agent.adapters.audio.signal import rms, tone
from voice_agent.adapters.livekit import LiveKitCallTransport
from voice_agent.adapters.livekit.room import ParticipantKind
from voice_agent.adapters.observability.logging import configure_logging
from voice_agent.application.ports.transport import (
    DtmfPressed,
    LineNotAnswered,
    TransferFailed,
    TransferOutcome,
)

pytestmark = pytest.mark.looptime

CALLER = sip_caller()


def line(room: ScriptedRoom, **options: object) -> LiveKitCallTransport:
    return LiveKitCallTransport("ws://unused", "unused", room=room, **options)  # type: ignore[arg-type]


@pytest.fixture
async def answered() -> AsyncIterator[tuple[LiveKitCallTransport, ScriptedRoom]]:
    room = ScriptedRoom(present=(CALLER,))
    transport = line(room)
    await transport.open()
    yield transport, room
    await transport.close("ended")


async def ended(transport: LiveKitCallTransport) -> None:
    async for _ in transport.audio_frames():
        pass


# -- the caller ---------------------------------------------------------------------------
async def test_the_sip_participant_is_the_caller_not_the_other_agents_nor_a_browser() -> None:
    agent = participant("other-agent", ParticipantKind.AGENT)
    browser = participant("supervisor", ParticipantKind.STANDARD)
    room = ScriptedRoom(present=(agent, browser, CALLER))
    transport = line(room)
    await transport.open()
    assert room.read_from == [CALLER.identity]
    assert transport.caller_number == "+15550100123"
    await transport.close("ended")


async def test_a_sip_caller_joining_after_the_agent_is_answered() -> None:
    room = ScriptedRoom(present=(participant("other-agent", ParticipantKind.AGENT),))
    transport = line(room)
    opening = asyncio.create_task(transport.open())
    await asyncio.sleep(2)
    assert not opening.done(), "another agent's audio is not a caller"
    room.join(CALLER)
    await opening
    assert room.read_from == [CALLER.identity]
    await transport.close("ended")


async def test_an_ordinary_participant_is_the_caller_only_when_no_sip_one_is_here() -> None:
    browser = participant("caller", ParticipantKind.STANDARD)
    alone = ScriptedRoom(present=(browser,))
    transport = line(alone)
    await transport.open()
    assert alone.read_from == ["caller"]
    assert transport.caller_number is None
    await transport.close("ended")

    with_phone = ScriptedRoom(present=(CALLER,))
    transport = line(with_phone)
    await transport.open()
    with_phone.join(browser)
    assert with_phone.read_from == [CALLER.identity]
    await transport.close("ended")


async def test_a_sip_participant_present_without_audio_yet_keeps_a_browser_out() -> None:
    room = ScriptedRoom()
    transport = line(room, answer_timeout_s=5)
    opening = asyncio.create_task(transport.open())
    await asyncio.sleep(0)
    room.join(CALLER, with_audio=False)
    room.join(participant("supervisor", ParticipantKind.STANDARD))
    await asyncio.sleep(1)
    room.listener.audio_track_ready(CALLER)
    await opening
    assert room.read_from == [CALLER.identity]
    await transport.close("ended")


async def test_no_caller_within_the_answer_timeout_is_a_line_not_answered() -> None:
    room = ScriptedRoom(present=(participant("other-agent", ParticipantKind.AGENT),))
    transport = line(room, answer_timeout_s=3)
    with pytest.raises(LineNotAnswered, match="no caller audio within 3 s"):
        await transport.open()
    await transport.close("not_answered")
    assert room.agent.disconnected


async def test_a_room_that_cannot_be_joined_is_a_line_not_answered() -> None:
    transport = line(ScriptedRoom(refuse_connect=True))
    with pytest.raises(LineNotAnswered, match="could not join the room: connection refused"):
        await transport.open()
    await transport.close("not_answered")


async def test_a_room_closing_after_a_failed_answer_leaves_no_stray_error() -> None:
    loop = asyncio.get_running_loop()
    stray: list[dict[str, object]] = []
    loop.set_exception_handler(lambda loop, context: stray.append(context))
    transport = line(ScriptedRoom(refuse_connect=True))
    with pytest.raises(LineNotAnswered):
        await transport.open()
    transport.room_closed()  # the SDK's "disconnected" for the room left behind
    await transport.close("not_answered")
    del transport
    gc.collect()  # an exception nobody retrieved is reported when its future is collected
    assert stray == []


async def test_the_answer_is_logged_with_the_sip_attributes_and_the_number_masked() -> None:
    stream = io.StringIO()
    configure_logging(json=True)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    room = ScriptedRoom(present=(CALLER,))
    transport = line(room)
    await transport.open()
    await transport.close("ended")
    answers = [
        json.loads(text)["event"]
        for text in stream.getvalue().splitlines()
        if "call answered" in text
    ]
    assert len(answers) == 1
    assert "sip.callID=SCL_aBcD1234 sip.trunkID=ST_trunk1 sip.phoneNumber=***23" in answers[0]
    assert "5550100123" not in stream.getvalue()


# -- hanging up ---------------------------------------------------------------------------
async def test_the_sip_status_hangup_ends_the_call_before_the_caller_leaves(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    transport, room = answered
    stream = asyncio.create_task(ended(transport))
    await room.speak(CALLER.identity, tone(0.5, 16000))
    assert not stream.done()
    room.set_attributes(CALLER.identity, sip_callStatus="hangup")
    await asyncio.wait_for(stream, 1)
    assert transport.hung_up_by == "caller"


async def test_other_attribute_changes_do_not_end_the_call(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    transport, room = answered
    room.set_attributes(CALLER.identity, sip_callStatus="active")
    room.join(participant("other-agent", ParticipantKind.AGENT))
    room.leave("other-agent")
    assert transport.hung_up_by is None


async def test_the_room_closing_ends_the_call_as_the_callers(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    transport, room = answered
    room.close()
    await asyncio.wait_for(ended(transport), 1)
    assert transport.hung_up_by == "caller"


# -- barge-in -----------------------------------------------------------------------------
async def test_a_barge_in_empties_the_rooms_queue_and_played_stops_where_heard(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    transport, room = answered
    await transport.play(tone(3.0, 16000))
    await asyncio.sleep(0.7)
    await transport.clear_audio()
    await asyncio.sleep(2)
    assert room.agent.clears == 1
    assert transport.played_seconds == pytest.approx(0.7, abs=0.03)
    assert room.agent.heard_seconds() == pytest.approx(transport.played_seconds, abs=0.03)


async def test_agent_audio_is_queued_in_the_room_ahead_of_real_time(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    """The room's AudioSource plays its queue in real time: audio handed ahead (60 ms) is
    what the caller goes on hearing while the agent's event loop is stalled."""
    transport, room = answered
    loop = asyncio.get_running_loop()
    started = loop.time()
    await transport.play(tone(0.5, 16000))
    await asyncio.sleep(0.01)
    queued = [at for at, chunk in room.agent.captured if rms(chunk) and at > loop.time()]
    assert len(queued) >= 3
    await transport.wait_played_out()
    assert loop.time() - started == pytest.approx(0.48, abs=0.021)
    plays_at = [at for at, chunk in room.agent.captured if rms(chunk)]
    assert {round(b - a, 6) for a, b in itertools.pairwise(plays_at)} == {0.02}


async def test_a_reply_after_silence_is_heard_at_once_not_after_queued_silence(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    """Between replies the track carries silence, written into the room's queue: a reply's
    first frame drops the silence still queued instead of being heard after it."""
    transport, room = answered
    loop = asyncio.get_running_loop()
    for pause in (1.0, 1.005, 1.01, 1.015, 1.02, 1.025):
        await asyncio.sleep(pause)
        started = loop.time()
        await transport.play(tone(0.1, 16000))
        await transport.wait_played_out()
        heard = [at for at, chunk in room.agent.captured if rms(chunk) and at >= started]
        assert heard[0] == pytest.approx(started, abs=1e-6)
        assert heard[-1] == pytest.approx(started + 0.08, abs=1e-6)


async def test_silence_queued_behind_reply_audio_never_drops_the_reply(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    """A reply's audio arriving late (the queue ran dry while the room still plays what was
    handed ahead, and silence went in behind it): nothing of the reply is dropped, and
    the played-out position is what the caller heard."""
    transport, room = answered
    await transport.play(tone(0.2, 16000))
    await asyncio.sleep(0.185)  # all handed ahead; silence queued behind the last frames
    await transport.play(tone(0.2, 16000))
    await transport.wait_played_out()
    await asyncio.sleep(0.1)
    assert room.agent.heard_seconds() == pytest.approx(0.4, abs=1e-6)
    assert transport.played_seconds == pytest.approx(0.4, abs=1e-6)


# -- transfer -----------------------------------------------------------------------------
async def transfer_line(
    service: ScriptedSipService | None, room: ScriptedRoom, **options: object
) -> LiveKitCallTransport:
    transfer = service.transfer_participant if service else None
    transport = line(room, transfer_participant=transfer, **options)
    await transport.open()
    return transport


@pytest.mark.parametrize("destination", ["+15550100999", "mailto:desk@example.com", ""])
async def test_a_destination_that_is_no_tel_or_sip_uri_fails_without_asking_the_server(
    destination: str,
) -> None:
    room = ScriptedRoom(present=(CALLER,))
    service = ScriptedSipService(room)
    transport = await transfer_line(service, room)
    with pytest.raises(TransferFailed, match="give a tel: or sip: URI") as failure:
        await transport.transfer(destination)
    assert failure.value.outcome is TransferOutcome.FAILED
    assert service.requests == []
    assert transport.hung_up_by is None
    await transport.close("ended")


async def test_a_transfer_plays_out_what_is_queued_then_hands_the_caller_over() -> None:
    room = ScriptedRoom(present=(CALLER,))
    service = ScriptedSipService(room)
    transport = await transfer_line(service, room)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await transport.play(tone(1.5, 16000))
    await transport.transfer("tel:+15550100999")
    [(asked_at, room_name, identity, destination)] = service.requests
    assert asked_at - started == pytest.approx(1.5, abs=0.05)
    assert room.agent.heard_seconds() == pytest.approx(1.5, abs=0.03)
    assert (room_name, identity, destination) == (room.name, CALLER.identity, "tel:+15550100999")
    assert transport.hung_up_by == "transfer"
    assert transport.transferred_to == "tel:+15550100999"
    await asyncio.wait_for(ended(transport), 1)
    await transport.close("transferred")


async def test_the_caller_hanging_up_during_the_play_out_fails_the_transfer_at_once() -> None:
    room = ScriptedRoom(present=(CALLER,))
    service = ScriptedSipService(room)
    transport = await transfer_line(service, room)
    await transport.play(tone(3.0, 16000))
    transferring = asyncio.create_task(transport.transfer("tel:+15550100999"))
    await asyncio.sleep(0.5)
    room.leave(CALLER.identity)
    with pytest.raises(TransferFailed, match="hung up before") as failure:
        await asyncio.wait_for(transferring, 1)
    assert failure.value.outcome is TransferOutcome.FAILED
    assert service.requests == []
    assert transport.hung_up_by == "caller"
    await transport.close("caller_hung_up")


async def test_a_busy_destination_is_a_busy_transfer_and_the_caller_stays_on_the_line() -> None:
    room = ScriptedRoom(present=(CALLER,))
    busy = TransferFailed(TransferOutcome.BUSY, "SIP 486 Busy Here")
    transport = await transfer_line(ScriptedSipService(room, fail_with=busy), room)
    with pytest.raises(TransferFailed) as failure:
        await transport.transfer("sip:desk@example.com")
    assert failure.value.outcome is TransferOutcome.BUSY
    assert transport.hung_up_by is None
    await transport.play(tone(0.5, 16000))
    await transport.wait_played_out()
    assert room.agent.heard_seconds() == pytest.approx(0.5, abs=0.03)
    await transport.close("ended")


async def test_nobody_answering_within_the_ringing_timeout_is_no_answer() -> None:
    room = ScriptedRoom(present=(CALLER,))
    service = ScriptedSipService(room, ring_forever=True)
    transport = await transfer_line(service, room, transfer_timeout_s=12)
    started = asyncio.get_running_loop().time()
    with pytest.raises(TransferFailed, match="did not answer within 12 s") as failure:
        await transport.transfer("tel:+15550100999")
    assert failure.value.outcome is TransferOutcome.NO_ANSWER
    assert asyncio.get_running_loop().time() - started == pytest.approx(12, abs=0.1)
    assert transport.hung_up_by is None
    await transport.close("ended")


async def test_an_unexpected_error_of_the_server_is_a_failed_transfer() -> None:
    room = ScriptedRoom(present=(CALLER,))

    async def broken(room_name: str, identity: str, destination: str) -> None:
        raise RuntimeError("twirp error internal: boom")

    transport = line(room, transfer_participant=broken)
    await transport.open()
    with pytest.raises(TransferFailed, match="boom") as failure:
        await transport.transfer("tel:+15550100999")
    assert failure.value.outcome is TransferOutcome.FAILED
    await transport.close("ended")


async def test_without_a_transfer_service_a_transfer_fails_clearly() -> None:
    room = ScriptedRoom(present=(CALLER,))
    transport = await transfer_line(None, room)
    with pytest.raises(TransferFailed, match="transfers are not configured"):
        await transport.transfer("tel:+15550100999")
    await transport.close("ended")


# -- key presses --------------------------------------------------------------------------
async def test_the_callers_key_presses_arrive_in_order(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    transport, room = answered
    events = transport.events()
    for digit in "4#":
        room.press(digit)
    assert [await anext(events), await anext(events)] == [DtmfPressed("4"), DtmfPressed("#")]


async def test_send_dtmf_publishes_rfc_4733_codes_paced_apart(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    transport, room = answered
    await transport.send_dtmf("19*#AD")
    sent = room.agent.dtmf
    assert [(code, digit) for _, code, digit in sent] == [
        (1, "1"),
        (9, "9"),
        (10, "*"),
        (11, "#"),
        (12, "A"),
        (15, "D"),
    ]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert gaps == pytest.approx([0.25] * 5, abs=0.01)


async def test_send_dtmf_with_a_bad_digit_sends_nothing(
    answered: tuple[LiveKitCallTransport, ScriptedRoom],
) -> None:
    transport, room = answered
    with pytest.raises(ValueError, match="not a DTMF digit: 'e' at position 1"):
        await transport.send_dtmf("1e2")
    assert room.agent.dtmf == []


# -- media timing and set-up faults ---------------------------------------------------------
async def test_a_room_closing_while_answering_fails_the_line_at_once() -> None:
    room = ScriptedRoom(present=(participant("other-agent", ParticipantKind.AGENT),))
    transport = line(room, answer_timeout_s=20)
    opening = asyncio.create_task(transport.open())
    await asyncio.sleep(1)
    started = asyncio.get_running_loop().time()
    room.listener.room_closed()
    with pytest.raises(LineNotAnswered, match="the room closed before a caller"):
        await opening
    assert asyncio.get_running_loop().time() - started < 0.1
    await transport.close("not_answered")
