"""`LiveKitControl` through the real livekit-api client, on each server it applies to:
`voice-agent sip setup`'s work (`setup`, `status`), removing a participant, and the errors for
someone not in the room and for an outbound trunk that does not exist. The servers: the
loopback Twirp fake, the real LiveKit server on loopback (its SIP API stores trunks and rules
without the SIP service), and, only when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET
are set, a remote deployment (README, "Connect a phone number"). Every test provisions under
names of its own and deletes what it made. Transfers and answered dials need the SIP service:
they are tested on the fake (test_livekit_control.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

import pytest
from fake_servers.livekit_agent import API_KEY, API_SECRET
from fake_servers.livekit_twirp import FakeLiveKitTwirp
from livekit import api, rtc
from livekit.protocol import models

from tests.livekit_servers import LiveKitServers
from voice_agent.adapters.livekit import (
    Change,
    DialFailed,
    InboundSetup,
    LiveKitControl,
    LiveKitSettings,
    TrunkView,
)
from voice_agent.application.ports.errors import ProviderError
from voice_agent.application.ports.transport import TransferFailed, TransferOutcome

REMOTE = tuple(
    os.environ.get(name) for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
)
SERVERS = [
    pytest.param("fake"),
    pytest.param("real", marks=pytest.mark.slow),
    *([pytest.param("remote", marks=pytest.mark.slow)] if all(REMOTE) else []),
]


@dataclass
class Server:
    url: str
    api_key: str
    api_secret: str
    fake: FakeLiveKitTwirp | None = None


@pytest.fixture(params=SERVERS)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    if request.param == "fake":
        fake = FakeLiveKitTwirp()
        async with fake:
            yield Server(fake.url, API_KEY, API_SECRET, fake)
    elif request.param == "real":
        real: LiveKitServers = request.getfixturevalue("livekit_servers")
        yield Server(real.url, real.api_key, real.api_secret)
    else:
        url, key, secret = (value or "" for value in REMOTE)
        yield Server(url, key, secret)


def unique_number() -> str:
    return f"+1555{secrets.randbelow(10**7):07d}"


@pytest.fixture
def wanted() -> InboundSetup:
    tag = secrets.token_hex(3)
    return InboundSetup(
        numbers=(unique_number(),),
        agent_name=f"receptionist-{tag}",
        allowed_addresses=("203.0.113.0/24",),
        auth_username=f"novofon-{tag}",
        auth_password=f"pw-{secrets.token_hex(8)}",
        room_prefix=f"call-{tag}-",
        trunk_name=f"test-inbound-{tag}",
        rule_name=f"test-dispatch-{tag}",
    )


@pytest.fixture
async def control(server: Server, wanted: InboundSetup) -> AsyncIterator[LiveKitControl]:
    control = LiveKitControl(LiveKitSettings(server.url, server.api_key, server.api_secret))
    yield control
    await forget_provisioned(control, wanted)
    await control.aclose()


async def forget_provisioned(control: LiveKitControl, wanted: InboundSetup) -> None:
    client = control.client
    rules = await client.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
    for rule in rules.items:
        if rule.name == wanted.rule_name:
            await client.sip.delete_dispatch_rule(
                api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id)
            )
    trunks = await client.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
    for trunk in trunks.items:
        if trunk.name == wanted.trunk_name:
            await client.sip.delete_trunk(
                api.DeleteSIPTrunkRequest(sip_trunk_id=trunk.sip_trunk_id)
            )
    await control.aclose()


def ours(trunks: tuple[TrunkView, ...], name: str) -> list[TrunkView]:
    return [t for t in trunks if t.name == name]


async def test_setup_creates_the_trunk_and_a_rule_dispatching_our_agent_and_status_lists_them(
    control: LiveKitControl, wanted: InboundSetup
) -> None:
    done = await control.setup(wanted)
    assert (done.trunk, done.rule) == (Change.CREATED, Change.CREATED)

    status = await control.status()
    assert ours(status.trunks, wanted.trunk_name) == [
        TrunkView(
            id=done.trunk_id,
            name=wanted.trunk_name,
            direction="inbound",
            numbers=wanted.numbers,
            allowed_addresses=wanted.allowed_addresses,
            auth_username=wanted.auth_username,
            has_password=True,
        )
    ]
    [rule] = [r for r in status.rules if r.name == wanted.rule_name]
    assert (rule.id, rule.room_prefix, rule.agents, rule.trunk_ids) == (
        done.rule_id,
        wanted.room_prefix,
        (wanted.agent_name,),
        (done.trunk_id,),
    )
    assert wanted.auth_password not in repr(status)


async def test_running_setup_again_changes_nothing_and_creates_no_duplicate(
    control: LiveKitControl, wanted: InboundSetup, server: Server
) -> None:
    first = await control.setup(wanted)
    before = await control.status()
    if server.fake is not None:
        server.fake.calls.clear()

    again = await control.setup(wanted)
    calls = list(server.fake.calls) if server.fake is not None else []

    assert (again.trunk, again.rule) == (Change.UNCHANGED, Change.UNCHANGED)
    assert (again.trunk_id, again.rule_id) == (first.trunk_id, first.rule_id)
    after = await control.status()
    assert len(ours(after.trunks, wanted.trunk_name)) == 1
    assert [r for r in after.rules if r.name == wanted.rule_name] == [
        r for r in before.rules if r.name == wanted.rule_name
    ]
    if server.fake is not None:  # nothing but reads reached the server
        assert calls == ["SIP/ListSIPInboundTrunk", "SIP/ListSIPDispatchRule"]


async def test_changed_numbers_update_the_same_trunk_and_leave_the_rule(
    control: LiveKitControl, wanted: InboundSetup
) -> None:
    first = await control.setup(wanted)
    changed = replace(wanted, numbers=(unique_number(), unique_number()))

    done = await control.setup(changed)

    assert (done.trunk, done.trunk_id) == (Change.UPDATED, first.trunk_id)
    assert (done.rule, done.rule_id) == (Change.UNCHANGED, first.rule_id)
    [trunk] = ours((await control.status()).trunks, wanted.trunk_name)
    assert sorted(trunk.numbers) == sorted(changed.numbers)


async def test_a_changed_room_prefix_or_agent_updates_the_same_rule(
    control: LiveKitControl, wanted: InboundSetup
) -> None:
    first = await control.setup(wanted)
    changed = replace(wanted, room_prefix="phone-", agent_name="another-agent")

    done = await control.setup(changed)

    assert (done.trunk, done.rule, done.rule_id) == (
        Change.UNCHANGED,
        Change.UPDATED,
        first.rule_id,
    )
    [rule] = [r for r in (await control.status()).rules if r.name == wanted.rule_name]
    assert (rule.room_prefix, rule.agents) == ("phone-", ("another-agent",))


# -- rooms -----------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def joined(server: Server, room: str, identity: str) -> AsyncIterator[None]:
    """`identity` in `room`: on the fake, recorded; on a real server, a participant joined
    with the rtc SDK (the caller's stand-in: no SIP service here)."""
    if server.fake is not None:
        server.fake.add_participant(room, identity, kind=models.ParticipantInfo.STANDARD)
        yield
        return
    token = (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )
    participant = rtc.Room()
    url = server.url.replace("http://", "ws://").replace("https://", "wss://")
    await participant.connect(url, token)
    try:
        yield
    finally:
        await participant.disconnect()


async def present(control: LiveKitControl, room: str) -> set[str]:
    listed = await control.client.room.list_participants(api.ListParticipantsRequest(room=room))
    return {participant.identity for participant in listed.participants}


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10) -> None:
    """Wait until the server's answer holds (a server's state offers nothing to await)."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - polling the server's API
            await asyncio.sleep(0.05)


def unique_room() -> str:
    return f"call-test-{secrets.token_hex(4)}"


async def test_removing_a_participant_takes_them_out_of_the_room(
    server: Server, control: LiveKitControl
) -> None:
    room = unique_room()
    await control.client.room.create_room(api.CreateRoomRequest(name=room))
    async with joined(server, room, "caller"):
        await eventually(lambda: _has(control, room, "caller"))

        await control.remove_participant(room, "caller")

        await eventually(lambda: _lacks(control, room, "caller"))
    await control.client.room.delete_room(api.DeleteRoomRequest(room=room))


async def _has(control: LiveKitControl, room: str, identity: str) -> bool:
    return identity in await present(control, room)


async def _lacks(control: LiveKitControl, room: str, identity: str) -> bool:
    return identity not in await present(control, room)


async def test_removing_or_transferring_someone_not_in_the_room_says_so(
    control: LiveKitControl,
) -> None:
    room = unique_room()
    await control.client.room.create_room(api.CreateRoomRequest(name=room))
    try:
        with pytest.raises(ProviderError) as removed:
            await control.remove_participant(room, "nobody")
        with pytest.raises(TransferFailed) as transferred:
            await control.transfer_participant(room, "nobody", "tel:+15550100999")
    finally:
        await control.client.room.delete_room(api.DeleteRoomRequest(room=room))

    assert str(removed.value) == (
        "livekit: not_found: twirp error unknown: participant does not exist"
    )
    assert removed.value.retryable is False
    assert transferred.value.outcome is TransferOutcome.FAILED
    assert transferred.value.detail == "not_found: twirp error unknown: participant does not exist"


async def test_a_dial_through_a_trunk_that_does_not_exist_names_it_and_leaves_no_room(
    control: LiveKitControl,
) -> None:
    prefix = f"call-test-{secrets.token_hex(3)}-"

    with pytest.raises(DialFailed) as failed:
        await control.dial("+15550100777", outbound_trunk_id="ST_missing", room_prefix=prefix)

    assert failed.value.outcome is TransferOutcome.FAILED
    assert "the outbound trunk ST_missing does not exist" in failed.value.detail
    rooms = await control.client.room.list_rooms(api.ListRoomsRequest())
    assert [r.name for r in rooms.rooms if r.name.startswith(prefix)] == []
