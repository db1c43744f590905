"""`LiveKitControl` in a call and for `voice-agent dial`, through the real livekit-api client
against the loopback Twirp fake, which answers what a real server without a SIP service
cannot: transfers and dials answered by a SIP status (busy, declined, no answer, not found),
unknown participants, server errors, a refused key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fake_servers.livekit_agent import API_KEY, API_SECRET
from fake_servers.livekit_twirp import FakeLiveKit, FakeLiveKitTwirp
from livekit.protocol import sip

from voice_agent.adapters.livekit import (
    AgentWorker,
    DialFailed,
    LiveKitControl,
    LiveKitSettings,
)
from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
)
from voice_agent.application.ports.transport import TransferFailed, TransferOutcome

ROOM = "call-_+15550100123_abc"
CALLER = "sip_+15550100123"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLiveKitTwirp]:
    server = FakeLiveKitTwirp()
    async with server:
        server.add_participant(ROOM, CALLER)
        yield server


def control_of(fake: FakeLiveKitTwirp, secret: str = API_SECRET) -> LiveKitControl:
    return LiveKitControl(LiveKitSettings(fake.url, API_KEY, secret, agent_name="receptionist"))


@pytest.fixture
async def control(fake: FakeLiveKitTwirp) -> AsyncIterator[LiveKitControl]:
    control = control_of(fake)
    yield control
    await control.aclose()


# -- transfer --------------------------------------------------------------------------
async def test_a_transfer_refers_the_caller_to_the_destination_and_they_leave_the_room(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    await control.transfer_participant(
        ROOM, CALLER, "tel:+15550100999", play_dialtone=True, ringing_timeout_s=12
    )

    [sent] = fake.transfers
    assert (sent.room_name, sent.participant_identity, sent.transfer_to) == (
        ROOM,
        CALLER,
        "tel:+15550100999",
    )
    assert sent.play_dialtone is True
    assert sent.ringing_timeout.seconds == 12
    assert CALLER not in fake.rooms[ROOM].participants


@pytest.mark.parametrize(
    ("sip_status", "outcome", "detail"),
    [
        (486, TransferOutcome.BUSY, "SIP 486 Busy Here"),
        (600, TransferOutcome.BUSY, "SIP 600 Busy Everywhere"),
        (603, TransferOutcome.DECLINED, "SIP 603 Decline"),
        (403, TransferOutcome.DECLINED, "SIP 403 Forbidden"),
        (408, TransferOutcome.NO_ANSWER, "SIP 408 Request Timeout"),
        (480, TransferOutcome.NO_ANSWER, "SIP 480 Temporarily Unavailable"),
        (487, TransferOutcome.NO_ANSWER, "SIP 487 Request Terminated"),
        (404, TransferOutcome.FAILED, "SIP 404 Not Found"),
        (503, TransferOutcome.FAILED, "SIP 503 Service Unavailable"),
    ],
)
async def test_a_transfer_the_far_end_refuses_names_why_and_keeps_the_caller(
    fake: FakeLiveKitTwirp,
    control: LiveKitControl,
    sip_status: int,
    outcome: TransferOutcome,
    detail: str,
) -> None:
    fake.transfer_status = sip_status

    with pytest.raises(TransferFailed) as failed:
        await control.transfer_participant(ROOM, CALLER, "tel:+15550100999")

    assert (failed.value.outcome, failed.value.detail) == (outcome, detail)
    assert CALLER in fake.rooms[ROOM].participants


async def test_transferring_someone_not_in_the_room_fails_naming_it(
    control: LiveKitControl,
) -> None:
    with pytest.raises(TransferFailed) as failed:
        await control.transfer_participant(ROOM, "sip_nobody", "tel:+15550100999")

    assert failed.value.outcome is TransferOutcome.FAILED
    assert failed.value.detail == "not_found: twirp error unknown: participant does not exist"


async def test_a_transfer_on_a_failing_server_fails_and_one_with_a_refused_key_says_so(
    fake: FakeLiveKitTwirp,
) -> None:
    fake.server_error = "redis down"
    control = control_of(fake)
    with pytest.raises(TransferFailed) as failed:
        await control.transfer_participant(ROOM, CALLER, "tel:+15550100999")
    assert (failed.value.outcome, failed.value.detail) == (
        TransferOutcome.FAILED,
        "internal: redis down",
    )
    await control.aclose()

    fake.server_error = None
    refused = control_of(fake, secret="not-the-servers-secret-at-all-000000")
    with pytest.raises(TransferFailed) as failed:
        await refused.transfer_participant(ROOM, CALLER, "tel:+15550100999")
    assert failed.value.outcome is TransferOutcome.FAILED
    assert "refused the key" in failed.value.detail
    assert "not-the-servers-secret" not in failed.value.detail
    await refused.aclose()


# -- remove participant (hang up) ------------------------------------------------------
async def test_removing_the_caller_takes_them_out_of_the_room(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    await control.remove_participant(ROOM, CALLER)

    assert fake.rooms[ROOM].participants == {}
    assert fake.calls == ["RoomService/RemoveParticipant"]


async def test_removing_someone_unknown_is_a_clear_error_not_retried(
    control: LiveKitControl,
) -> None:
    with pytest.raises(ProviderError) as failed:
        await control.remove_participant(ROOM, "sip_nobody")

    assert (
        str(failed.value) == "livekit: not_found: twirp error unknown: participant does not exist"
    )
    assert failed.value.retryable is False


async def test_a_server_error_or_a_refused_key_is_the_ports_error(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    fake.server_error = "redis down"
    with pytest.raises(ProviderUnavailable, match="internal: redis down"):
        await control.remove_participant(ROOM, CALLER)
    with pytest.raises(ProviderUnavailable, match="internal: redis down"):
        await control.status()
    fake.server_error = None

    refused = control_of(fake, secret="not-the-servers-secret-at-all-000000")
    with pytest.raises(ProviderAuthError, match="refused the key"):
        await refused.status()
    await refused.aclose()
    assert fake.refused == ["SIP/ListSIPInboundTrunk: InvalidSignatureError"]
    assert CALLER in fake.rooms[ROOM].participants


# -- dial ------------------------------------------------------------------------------
async def test_dial_makes_a_room_with_our_agent_dispatched_and_calls_the_number_into_it(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    trunk = fake.add_outbound_trunk()

    dialled = await control.dial(
        "+15550100777", outbound_trunk_id=trunk, room_prefix="call-", ringing_timeout_s=20
    )

    assert dialled.room.startswith("call-out-")
    assert [d.agent_name for d in fake.dispatches[dialled.room]] == ["receptionist"]
    [request] = fake.dials
    assert (request.sip_trunk_id, request.sip_call_to, request.room_name) == (
        trunk,
        "+15550100777",
        dialled.room,
    )
    assert request.wait_until_answered is True
    assert request.ringing_timeout.seconds == 20
    assert dialled.participant_identity in fake.rooms[dialled.room].participants
    assert fake.calls == ["RoomService/CreateRoom", "SIP/CreateSIPParticipant"]


@pytest.mark.parametrize(
    ("sip_status", "outcome"),
    [
        (486, TransferOutcome.BUSY),
        (603, TransferOutcome.DECLINED),
        (408, TransferOutcome.NO_ANSWER),
        (404, TransferOutcome.FAILED),
    ],
)
async def test_a_dial_not_answered_says_why_and_deletes_its_room(
    fake: FakeLiveKitTwirp, control: LiveKitControl, sip_status: int, outcome: TransferOutcome
) -> None:
    trunk = fake.add_outbound_trunk()
    fake.dial_status = sip_status

    with pytest.raises(DialFailed) as failed:
        await control.dial("+15550100777", outbound_trunk_id=trunk)

    assert failed.value.outcome is outcome
    assert failed.value.detail.startswith(f"SIP {sip_status} ")
    assert set(fake.rooms) == {ROOM}  # the dial's room is gone, its agent dispatch with it
    assert fake.calls[-1] == "RoomService/DeleteRoom"


async def test_a_dial_through_an_unknown_trunk_names_the_trunk(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    with pytest.raises(DialFailed) as failed:
        await control.dial("+15550100777", outbound_trunk_id="ST_missing")

    assert failed.value.outcome is TransferOutcome.FAILED
    assert "outbound trunk ST_missing does not exist" in failed.value.detail
    assert set(fake.rooms) == {ROOM}


@pytest.mark.looptime
async def test_a_transfer_the_server_does_not_answer_within_the_ringing_time_is_no_answer(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    fake.delay_s = 600.0  # the server hangs on to the request

    with pytest.raises(TransferFailed) as failed:
        await control.transfer_participant(ROOM, CALLER, "tel:+15550100999", ringing_timeout_s=5)

    assert (failed.value.outcome, failed.value.detail) == (
        TransferOutcome.NO_ANSWER,
        "no answer within 5 s",
    )
    assert CALLER in fake.rooms[ROOM].participants


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        ("STR_RINGING_TIMEOUT", TransferOutcome.NO_ANSWER),
        ("STR_REJECTED", TransferOutcome.DECLINED),
        ("STR_CALL_ENDED", TransferOutcome.FAILED),
    ],
)
async def test_a_transfer_failing_with_only_a_transfer_reason_is_mapped_by_it(
    fake: FakeLiveKitTwirp, control: LiveKitControl, reason: str, outcome: TransferOutcome
) -> None:
    fake.transfer_reason = reason

    with pytest.raises(TransferFailed) as failed:
        await control.transfer_participant(ROOM, CALLER, "tel:+15550100999")

    assert failed.value.outcome is outcome
    assert failed.value.detail.endswith(f"transfer failed ({reason})")


async def test_one_fake_server_takes_the_worker_and_the_api_calls_on_one_address() -> None:
    server = FakeLiveKit()
    async with server:
        settings = LiveKitSettings(server.ws_url, API_KEY, API_SECRET, status_interval_s=0.05)
        worker = AgentWorker(settings, lambda job: asyncio.sleep(0), max_jobs=1)
        running = asyncio.create_task(worker.run())
        control = LiveKitControl(settings)
        try:
            await asyncio.wait_for(worker.registered.wait(), 5)
            server.add_participant(ROOM, CALLER)

            await control.remove_participant(ROOM, CALLER)

            assert server.worker.agent_name == "voice-agent"
            assert server.rooms[ROOM].participants == {}
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await control.aclose()


@pytest.mark.parametrize(
    ("sip_status", "reason", "outcome"),
    [
        (486, "STR_REJECTED", TransferOutcome.BUSY),
        (0, "STR_RINGING_TIMEOUT", TransferOutcome.NO_ANSWER),
        (0, "STR_REJECTED", TransferOutcome.DECLINED),
        (0, "STR_CALL_ENDED", TransferOutcome.FAILED),
    ],
)
async def test_a_failed_status_answered_without_an_error_is_a_failed_transfer(
    fake: FakeLiveKitTwirp,
    control: LiveKitControl,
    sip_status: int,
    reason: str,
    outcome: TransferOutcome,
) -> None:
    fake.failed_response = (sip_status, sip.SIPTransferReason.Value(reason))

    with pytest.raises(TransferFailed) as failed:
        await control.transfer_participant(ROOM, CALLER, "tel:+15550100999")

    assert failed.value.outcome is outcome
    assert CALLER in fake.rooms[ROOM].participants
