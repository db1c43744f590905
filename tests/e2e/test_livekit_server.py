"""The real LiveKit server on loopback (tests/livekit_servers.py), driven with livekit-api, the
rtc SDK and the worker protocol as our adapters will drive it: rooms, the SIP provisioning API,
key checks, audio crossing the server between two participants, and a room created with our
agent's name dispatching a job to a registered worker."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import numpy as np
import pytest
import yaml
from bench.livekit_caller import join_token
from livekit import api, rtc
from livekit.protocol import agent as agent_protocol

from tests.livekit_servers import SERVER_CONFIG, LiveKitServers

pytestmark = pytest.mark.slow

SAMPLE_RATE = 48_000
FRAME_SAMPLES = SAMPLE_RATE // 100  # 10 ms, as the rtc SDK frames audio


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def test_a_created_room_is_listed_until_it_is_deleted(livekit_api: api.LiveKitAPI) -> None:
    name = unique("room")
    created = await livekit_api.room.create_room(api.CreateRoomRequest(name=name))
    assert created.sid.startswith("RM_")

    listed = await livekit_api.room.list_rooms(api.ListRoomsRequest(names=[name]))
    assert [(room.name, room.sid) for room in listed.rooms] == [(name, created.sid)]

    await livekit_api.room.delete_room(api.DeleteRoomRequest(room=name))
    after = await livekit_api.room.list_rooms(api.ListRoomsRequest(names=[name]))
    assert list(after.rooms) == []


async def test_an_inbound_trunk_and_an_individual_dispatch_rule_read_back_as_created(
    livekit_api: api.LiveKitAPI,
) -> None:
    trunk = await livekit_api.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(
            trunk=api.SIPInboundTrunkInfo(
                name=unique("novofon"),
                numbers=["+74950000000"],
                allowed_addresses=["127.0.0.1/32"],
                auth_username="carrier",
                auth_password="carrier-password",
            )
        )
    )
    rule = await livekit_api.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(
            dispatch_rule=api.SIPDispatchRuleInfo(
                name=unique("calls"),
                trunk_ids=[trunk.sip_trunk_id],
                rule=api.SIPDispatchRule(
                    dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="call-")
                ),
                room_config=api.RoomConfiguration(
                    agents=[api.RoomAgentDispatch(agent_name="voice-agent")]
                ),
            )
        )
    )
    try:
        trunks = await livekit_api.sip.list_inbound_trunk(
            api.ListSIPInboundTrunkRequest(trunk_ids=[trunk.sip_trunk_id])
        )
        rules = await livekit_api.sip.list_dispatch_rule(
            api.ListSIPDispatchRuleRequest(dispatch_rule_ids=[rule.sip_dispatch_rule_id])
        )
        assert list(trunks.items) == [trunk]
        assert list(rules.items) == [rule]
        stored_trunk, stored_rule = trunks.items[0], rules.items[0]
        assert list(stored_trunk.numbers) == ["+74950000000"]
        assert list(stored_trunk.allowed_addresses) == ["127.0.0.1/32"]
        assert stored_trunk.auth_username == "carrier"
        assert list(stored_rule.trunk_ids) == [trunk.sip_trunk_id]
        assert stored_rule.rule.dispatch_rule_individual.room_prefix == "call-"
        assert [a.agent_name for a in stored_rule.room_config.agents] == ["voice-agent"]
    finally:
        await livekit_api.sip.delete_dispatch_rule(
            api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id)
        )
        await livekit_api.sip.delete_trunk(
            api.DeleteSIPTrunkRequest(sip_trunk_id=trunk.sip_trunk_id)
        )
    left = await livekit_api.sip.list_inbound_trunk(
        api.ListSIPInboundTrunkRequest(trunk_ids=[trunk.sip_trunk_id])
    )
    assert list(left.items) == []


async def test_a_wrong_secret_is_refused_and_creates_nothing(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    name = unique("room")
    intruder = api.LiveKitAPI(livekit_servers.url, livekit_servers.api_key, secrets.token_hex(32))
    try:
        with pytest.raises(api.TwirpError) as refused:
            await intruder.room.create_room(api.CreateRoomRequest(name=name))
    finally:
        await intruder.aclose()
    assert refused.value.status == 401
    listed = await livekit_api.room.list_rooms(api.ListRoomsRequest(names=[name]))
    assert list(listed.rooms) == []


async def test_audio_published_by_one_participant_reaches_another_over_loopback(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    """What a phone call needs from the server: both sides join over WebRTC (ICE on the
    loopback address the config advertises) and audio crosses the server."""
    name = unique("call")
    caller, agent = rtc.Room(), rtc.Room()
    subscribed: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @agent.on("track_subscribed")
    def _on_track(track: rtc.Track, *_: object) -> None:
        if not subscribed.done():
            subscribed.set_result(track)

    try:
        await agent.connect(livekit_servers.ws_url, join_token(livekit_servers, name, "agent"))
        await caller.connect(livekit_servers.ws_url, join_token(livekit_servers, name, "caller"))
        listed = await livekit_api.room.list_participants(api.ListParticipantsRequest(room=name))
        assert sorted(p.identity for p in listed.participants) == ["agent", "caller"]

        source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=200)
        track = rtc.LocalAudioTrack.create_audio_track("caller-voice", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await caller.local_participant.publish_track(track, options)

        remote = await asyncio.wait_for(subscribed, timeout=10)
        stream = rtc.AudioStream.from_track(track=remote, sample_rate=SAMPLE_RATE, num_channels=1)
        tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(FRAME_SAMPLES) / SAMPLE_RATE)).astype(
            np.int16
        )

        async def speak() -> None:
            for _ in range(300):  # 3 s at most: the first loud frames end the test
                frame = rtc.AudioFrame(tone.tobytes(), SAMPLE_RATE, 1, FRAME_SAMPLES)
                await source.capture_frame(frame)

        async def hear_tone() -> float:
            async for event in stream:
                samples = np.frombuffer(event.frame.data, dtype=np.int16)
                level = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
                if level > 1000:
                    return level
            raise AssertionError("the audio stream ended before the tone arrived")

        speaker = asyncio.create_task(speak())
        try:
            heard = await asyncio.wait_for(hear_tone(), timeout=10)
        finally:
            speaker.cancel()
            await stream.aclose()
        assert heard > 1000
    finally:
        await caller.disconnect()
        await agent.disconnect()
        await livekit_api.room.delete_room(api.DeleteRoomRequest(room=name))


async def test_a_room_naming_our_agent_dispatches_a_job_to_a_registered_worker(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    """The path a SIP call takes after the dispatch rule: the room is created with
    `agents=[our name]`, the server asks our registered worker whether it takes the job,
    assigns it with a room token, and the worker joins the room with it."""
    agent_name = unique("voice-agent")
    room_name = unique("call")
    worker_token = (
        api.AccessToken(livekit_servers.api_key, livekit_servers.api_secret)
        .with_grants(api.VideoGrants(agent=True))
        .to_jwt()
    )
    headers = {"Authorization": f"Bearer {worker_token}"}

    async def receive(ws: aiohttp.ClientWebSocketResponse) -> agent_protocol.ServerMessage:
        message = agent_protocol.ServerMessage()
        message.ParseFromString(await asyncio.wait_for(ws.receive_bytes(), timeout=10))
        return message

    async def send(
        ws: aiohttp.ClientWebSocketResponse, message: agent_protocol.WorkerMessage
    ) -> None:
        await ws.send_bytes(message.SerializeToString())

    room = rtc.Room()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{livekit_servers.ws_url}/agent", headers=headers) as ws,
    ):
        await send(
            ws,
            agent_protocol.WorkerMessage(
                register=agent_protocol.RegisterWorkerRequest(
                    type=agent_protocol.JT_ROOM, agent_name=agent_name, version="test"
                )
            ),
        )
        registered = await receive(ws)
        assert registered.WhichOneof("message") == "register"
        assert registered.register.worker_id

        await livekit_api.room.create_room(
            api.CreateRoomRequest(
                name=room_name, agents=[api.RoomAgentDispatch(agent_name=agent_name)]
            )
        )
        try:
            asked = await receive(ws)
            assert asked.WhichOneof("message") == "availability"
            job = asked.availability.job
            assert (job.room.name, job.agent_name) == (room_name, agent_name)
            await send(
                ws,
                agent_protocol.WorkerMessage(
                    availability=agent_protocol.AvailabilityResponse(
                        job_id=job.id, available=True, participant_identity="agent"
                    )
                ),
            )

            assigned = await receive(ws)
            assert assigned.WhichOneof("message") == "assignment"
            assert assigned.assignment.job.id == job.id
            await room.connect(
                assigned.assignment.url or livekit_servers.ws_url, assigned.assignment.token
            )
            await send(
                ws,
                agent_protocol.WorkerMessage(
                    update_job=agent_protocol.UpdateJobStatus(
                        job_id=job.id, status=agent_protocol.JS_RUNNING
                    )
                ),
            )
            listed = await livekit_api.room.list_participants(
                api.ListParticipantsRequest(room=room_name)
            )
            assert [p.identity for p in listed.participants] == ["agent"]
            assert listed.participants[0].kind == api.ParticipantInfo.Kind.AGENT
        finally:
            await room.disconnect()
            await livekit_api.room.delete_room(api.DeleteRoomRequest(room=room_name))


async def test_the_committed_config_takes_its_ports_redis_and_keys_from_the_environment() -> None:
    """What a container stack does with config/livekit/livekit.yaml: the file unchanged,
    everything deployment-specific from LiveKit's environment variables. The committed
    development key is then no longer accepted."""
    with LiveKitServers(override_by_environment=True) as servers:
        ours = api.LiveKitAPI(servers.url, servers.api_key, servers.api_secret)
        committed = yaml.safe_load(SERVER_CONFIG.read_text())["keys"]
        [(dev_key, dev_secret)] = committed.items()
        dev = api.LiveKitAPI(servers.url, dev_key, dev_secret)
        try:
            name = unique("room")
            await ours.room.create_room(api.CreateRoomRequest(name=name))
            listed = await ours.room.list_rooms(api.ListRoomsRequest(names=[name]))
            assert [room.name for room in listed.rooms] == [name]
            with pytest.raises(api.TwirpError) as refused:
                await dev.room.list_rooms(api.ListRoomsRequest())
            assert refused.value.status == 401
        finally:
            await ours.aclose()
            await dev.aclose()
        started = next(
            line for line in servers.server_log().splitlines() if "starting LiveKit server" in line
        )
        assert f'"portHttp": {servers.http_port}' in started
        assert f'"rtc.portTCP": {servers.rtc_tcp_port}' in started
        assert f'"rtc.portUDP": {{"Start":{servers.rtc_udp_port},' in started
