"""The worker's phone line (`phone_line`): a transfer goes through the server's API (the
livekit-api client against the loopback Twirp fake) with the SIP settings' ringing timeout
and dial tone, and a SIP failure reaches the caller's side as its outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_servers.livekit_agent import API_KEY, API_SECRET
from fake_servers.livekit_twirp import FakeLiveKitTwirp

from tests.scripted_room import ScriptedRoom, sip_caller
from voice_agent.adapters.livekit import AssignedJob, LiveKitControl, LiveKitSettings
from voice_agent.application.ports.transport import TransferFailed, TransferOutcome
from voice_agent.entrypoints.bootstrap.settings import SipSettings
from voice_agent.entrypoints.worker.main import phone_line

CALLER = sip_caller()
JOB = AssignedJob("AJ_1", "call-1", "ws://unused", "unused")


@pytest.fixture
async def fake() -> AsyncIterator[FakeLiveKitTwirp]:
    server = FakeLiveKitTwirp()
    async with server:
        yield server


@pytest.fixture
async def control(fake: FakeLiveKitTwirp) -> AsyncIterator[LiveKitControl]:
    control = LiveKitControl(LiveKitSettings(fake.url, API_KEY, API_SECRET))
    yield control
    await control.aclose()


async def test_a_transfer_rings_as_the_sip_settings_say_and_hands_the_caller_over(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    room = ScriptedRoom(present=(CALLER,))
    fake.add_participant(room.name, CALLER.identity)
    sip = SipSettings(transfer_ringing_timeout_s=12, transfer_play_dialtone=True)
    line = phone_line(JOB, rate=16000, control=control, sip=sip, room=room)
    await line.open()
    await line.transfer("tel:+15550100999")
    [sent] = fake.transfers
    assert (sent.room_name, sent.participant_identity, sent.transfer_to) == (
        room.name,
        CALLER.identity,
        "tel:+15550100999",
    )
    assert (sent.ringing_timeout.seconds, sent.play_dialtone) == (12, True)
    assert line.hung_up_by == "transfer"
    await line.close("transferred")


async def test_a_busy_destination_reaches_the_line_as_busy(
    fake: FakeLiveKitTwirp, control: LiveKitControl
) -> None:
    room = ScriptedRoom(present=(CALLER,))
    fake.add_participant(room.name, CALLER.identity)
    fake.transfer_status = 486
    line = phone_line(JOB, rate=16000, control=control, sip=SipSettings(), room=room)
    await line.open()
    with pytest.raises(TransferFailed) as failure:
        await line.transfer("sip:desk@example.com")
    assert failure.value.outcome is TransferOutcome.BUSY
    assert line.hung_up_by is None
    await line.close("ended")
