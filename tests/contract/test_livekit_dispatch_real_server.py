"""`AgentWorker` against the real LiveKit server on loopback (tests/livekit_servers.py): the
behaviours tests/contract/test_livekit_dispatch.py checks against the fake that a real server
shows on demand: registration, a refused key, a call dispatched to our agent name, run (the
handler joins the room with the server's token) and its end reported, as the server logs it,
no call offered while the worker is full, and one offered once it is free."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Callable

import pytest
from livekit import api, rtc

from tests.livekit_servers import LiveKitServers
from voice_agent.adapters.livekit import AgentWorker, AssignedJob, LiveKitSettings
from voice_agent.application.ports.errors import ProviderAuthError

pytestmark = pytest.mark.slow


async def eventually(check: Callable[[], bool], timeout_s: float = 10) -> None:
    """Wait until `check()` holds: for the server's record (its log) there is nothing to await."""
    async with asyncio.timeout(timeout_s):
        while not check():  # noqa: ASYNC110 - a server process's log offers no event to await
            await asyncio.sleep(0.05)


class JoiningCalls:
    """The job handler: joins the job's room with the server's token, as the transport will,
    records who it was there, and leaves when released."""

    def __init__(self, livekit_api: api.LiveKitAPI) -> None:
        self.jobs: list[AssignedJob] = []
        self.participants: list[api.ParticipantInfo] = []
        self.release = asyncio.Event()
        self.joined = asyncio.Event()
        self._api = livekit_api

    async def __call__(self, job: AssignedJob) -> None:
        room = rtc.Room()
        await room.connect(job.url, job.token)
        try:
            self.jobs.append(job)
            listed = await self._api.room.list_participants(
                api.ListParticipantsRequest(room=job.room)
            )
            self.participants = list(listed.participants)
            self.joined.set()
            await self.release.wait()
        finally:
            await room.disconnect()


def _settings(
    servers: LiveKitServers, agent_name: str, status_interval_s: float
) -> LiveKitSettings:
    return LiveKitSettings(
        servers.ws_url,
        servers.api_key,
        servers.api_secret,
        agent_name=agent_name,
        status_interval_s=status_interval_s,
    )


async def test_a_call_dispatched_to_our_agent_name_joins_runs_and_is_reported_done(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    agent_name = f"receptionist-{secrets.token_hex(3)}"
    room_name = f"call-{secrets.token_hex(4)}"
    settings = _settings(livekit_servers, agent_name, 0.5)
    calls = JoiningCalls(livekit_api)
    worker = AgentWorker(settings, calls, max_jobs=2)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.registered.wait(), 10)
        assert worker.worker_id

        await livekit_api.room.create_room(
            api.CreateRoomRequest(
                name=room_name, agents=[api.RoomAgentDispatch(agent_name=agent_name)]
            )
        )

        await asyncio.wait_for(calls.joined.wait(), 10)
        job = calls.jobs[0]
        assert job.room == room_name
        # The identity is the one the worker gave in its availability answer.
        assert [(p.identity, p.kind) for p in calls.participants] == [
            (f"agent-{job.id}", api.ParticipantInfo.Kind.AGENT)
        ]

        calls.release.set()

        # The server's end of the job as the worker reported it (the room's dispatch record,
        # `list_dispatch`, keeps the state of the assignment: it is no witness of that).
        def reported_done() -> bool:
            return any(
                "job ended" in line and job.id in line and '"status": "JS_SUCCESS"' in line
                for line in livekit_servers.server_log().splitlines()
            )

        await eventually(reported_done)
        assert not worker.jobs
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await livekit_api.room.delete_room(api.DeleteRoomRequest(room=room_name))


async def test_a_wrong_secret_is_refused_at_once(livekit_servers: LiveKitServers) -> None:
    settings = LiveKitSettings(
        livekit_servers.ws_url, livekit_servers.api_key, secrets.token_hex(32)
    )

    async def never(job: AssignedJob) -> None:
        raise AssertionError(f"a worker with a wrong key got job {job.id}")

    with pytest.raises(ProviderAuthError, match="livekit"):
        await asyncio.wait_for(AgentWorker(settings, never, max_jobs=1).run(), 10)


async def test_a_full_worker_is_not_given_another_call_and_takes_one_once_free(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    agent_name = f"receptionist-{secrets.token_hex(3)}"
    first, second, third = (f"call-{secrets.token_hex(4)}" for _ in range(3))
    # Status every 60 s: only the reports the worker sends when its calls change count.
    settings = _settings(livekit_servers, agent_name, 60)
    calls = JoiningCalls(livekit_api)
    worker = AgentWorker(settings, calls, max_jobs=1)
    running = asyncio.create_task(worker.run())
    dispatch = [api.RoomAgentDispatch(agent_name=agent_name)]
    try:
        await asyncio.wait_for(worker.registered.wait(), 10)
        await livekit_api.room.create_room(api.CreateRoomRequest(name=first, agents=dispatch))
        await asyncio.wait_for(calls.joined.wait(), 10)
        assert worker.full
        # The worker told the server it is full when the call started: the next room's job
        # is not offered to it (the server would log a refused availability if it were).
        await livekit_api.room.create_room(api.CreateRoomRequest(name=second, agents=dispatch))

        calls.release.set()  # the first call ends: the worker says at once it is free
        await eventually(lambda: not worker.jobs)
        await livekit_api.room.create_room(api.CreateRoomRequest(name=third, agents=dispatch))
        await eventually(lambda: len(calls.jobs) >= 2)
        assert [job.room for job in calls.jobs] == [first, third]
        offered = [
            line
            for line in livekit_servers.server_log().splitlines()
            if "no worker available to handle job" in line and f'"room": "{second}"' in line
        ]
        assert offered == [], "the server offered the second call to the full worker"
    finally:
        calls.release.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        for room in (first, second, third):
            await livekit_api.room.delete_room(api.DeleteRoomRequest(room=room))


def _joined(calls: JoiningCalls, count: int) -> bool:
    return len(calls.jobs) >= count


async def test_a_worker_is_given_as_many_calls_as_it_takes_not_only_up_to_the_target_load(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    # livekit-server offers no job to a worker whose reported load reached its target load
    # (0.7): a worker taking 4 calls that reported 3 of 4 as 0.75 never got the 4th.
    agent_name = f"receptionist-{secrets.token_hex(3)}"
    rooms = [f"call-{secrets.token_hex(4)}" for _ in range(4)]
    # Status every 60 s: only the reports the worker sends when its calls change count.
    settings = _settings(livekit_servers, agent_name, 60)
    calls = JoiningCalls(livekit_api)
    worker = AgentWorker(settings, calls, max_jobs=len(rooms))
    running = asyncio.create_task(worker.run())
    dispatch = [api.RoomAgentDispatch(agent_name=agent_name)]
    try:
        await asyncio.wait_for(worker.registered.wait(), 10)
        for taken, room in enumerate(rooms, start=1):
            await livekit_api.room.create_room(api.CreateRoomRequest(name=room, agents=dispatch))
            await eventually(functools.partial(_joined, calls, taken))
        assert [job.room for job in calls.jobs] == rooms
        assert worker.full
        refused = [
            line
            for line in livekit_servers.server_log().splitlines()
            if "no servers available" in line and agent_name in line
        ]
        assert refused == []
    finally:
        calls.release.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        for room in rooms:
            await livekit_api.room.delete_room(api.DeleteRoomRequest(room=room))
