"""`voice-agent worker` on the real LiveKit server (loopback): a room naming our agent is
dispatched to the worker, which answers it through the CallRunner on the fake stack; the
caller hears the greeting, hangs up, and the call is stored like a web phone call."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from dependency_injector import providers
from livekit import api
from pydantic import SecretStr

from tests.e2e.test_livekit_transport import Caller
from tests.livekit_servers import LiveKitServers
from voice_agent.domain.call import CallStatus, EndReason
from voice_agent.domain.events import CallEnded, DomainEvent
from voice_agent.entrypoints.bootstrap.container import (
    CallStore,
    Container,
    memory_store,
    resolved,
)
from voice_agent.entrypoints.bootstrap.settings import Settings, StackName
from voice_agent.entrypoints.worker.main import livekit_settings, run_worker

pytestmark = pytest.mark.slow


def worker_settings(servers: LiveKitServers, agent_name: str) -> Settings:
    return Settings(
        _env_file=None,
        stack=StackName.FAKE,
        livekit_url=servers.ws_url,
        livekit_api_key=SecretStr(servers.api_key),
        livekit_api_secret=SecretStr(servers.api_secret),
        livekit_agent_name=agent_name,
        worker_max_calls=1,
        worker_drain_timeout_s=5,
        worker_http_port=0,
    )


async def test_a_dispatched_call_is_answered_heard_hung_up_and_stored(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    agent_name = f"receptionist-{secrets.token_hex(3)}"
    room = f"call-{secrets.token_hex(4)}"
    container = Container()
    container.settings.override(providers.Object(worker_settings(livekit_servers, agent_name)))
    container.call_store.override(providers.Resource(memory_store))
    store: CallStore = await resolved(container.call_store())
    stop, ready, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def on_event(event: DomainEvent) -> None:
        if isinstance(event, CallEnded):
            ended.set()

    worker = asyncio.create_task(run_worker(container, stop, [on_event], ready=ready))
    caller = Caller()
    try:
        await asyncio.wait_for(ready.wait(), 20)
        await livekit_api.room.create_room(
            api.CreateRoomRequest(name=room, agents=[api.RoomAgentDispatch(agent_name=agent_name)])
        )
        await caller.join(livekit_servers, room)
        await asyncio.wait_for(caller.wait_heard(0.5), 20)  # the greeting
        await caller.leave()
        await asyncio.wait_for(ended.wait(), 20)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
    [call] = (await store.repository.list()).calls
    stored = await store.repository.get(call.id)
    assert stored is not None
    assert (stored.status, stored.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP)
    assert stored.turns[0].text == Settings().greeting


async def test_stopping_drains_then_ends_the_calls_left_as_server_shutdown(
    livekit_servers: LiveKitServers, livekit_api: api.LiveKitAPI
) -> None:
    agent_name = f"receptionist-{secrets.token_hex(3)}"
    room = f"call-{secrets.token_hex(4)}"
    settings = worker_settings(livekit_servers, agent_name).model_copy(
        update={"worker_drain_timeout_s": 1.0}
    )
    container = Container()
    container.settings.override(providers.Object(settings))
    container.call_store.override(providers.Resource(memory_store))
    store: CallStore = await resolved(container.call_store())
    stop, ready = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(run_worker(container, stop, ready=ready))
    caller = Caller()
    try:
        await asyncio.wait_for(ready.wait(), 20)
        await livekit_api.room.create_room(
            api.CreateRoomRequest(name=room, agents=[api.RoomAgentDispatch(agent_name=agent_name)])
        )
        await caller.join(livekit_servers, room)
        await asyncio.wait_for(caller.wait_heard(0.5), 20)
        stop.set()
        await asyncio.wait_for(worker, 20)  # drained for 1 s, then the call was ended
    finally:
        stop.set()
        await caller.leave()
    [call] = (await store.repository.list()).calls
    assert call.end_reason is EndReason.SERVER_SHUTDOWN


def test_the_worker_names_the_variables_it_misses() -> None:
    settings = Settings(_env_file=None, livekit_url="ws://127.0.0.1:7880")
    with pytest.raises(SystemExit, match="LIVEKIT_API_KEY, LIVEKIT_API_SECRET"):
        livekit_settings(settings)
