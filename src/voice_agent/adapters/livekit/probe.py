"""Is a worker registered under our agent name and taking calls? Asked through the LiveKit
server's own API, as a deployment check: dispatch our agent to a throwaway room and watch for
a participant of kind AGENT to join it, then delete the room.

The worker answers the probe as it would a call (it joins and waits for a caller who never
comes); deleting the room releases it at once, and a line never answered is not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass

import aiohttp
from livekit import api
from livekit.protocol import models

from voice_agent.adapters.livekit.control import LiveKitControl

PROBE_ROOM_PREFIX = "deployment-check-"
POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class AgentProbe:
    answered: bool
    detail: str
    """What happened, in a sentence (no secrets)."""


async def agent_answers(control: LiveKitControl, timeout_s: float = 10.0) -> AgentProbe:
    """Dispatch the agent of `control`'s settings to a throwaway room, through `control`'s
    API client, and wait (polling the room) for an AGENT participant to join it."""
    client = control.client
    agent_name = control.settings.agent_name
    room = f"{PROBE_ROOM_PREFIX}{secrets.token_hex(4)}"
    started = time.monotonic()
    try:
        await client.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=agent_name, room=room, metadata="deployment-check"
            )
        )
        while time.monotonic() - started < timeout_s:
            listed = await client.room.list_participants(api.ListParticipantsRequest(room=room))
            agents = [p for p in listed.participants if p.kind == models.ParticipantInfo.AGENT]
            if agents:
                waited_ms = (time.monotonic() - started) * 1000
                return AgentProbe(
                    True, f"agent {agent_name!r} joined a dispatched room in {waited_ms:.0f} ms"
                )
            await asyncio.sleep(POLL_S)  # polling the server's room state
        return AgentProbe(
            False,
            f"no worker registered as {agent_name!r} answered a dispatch within "
            f"{timeout_s:g} s (workers down, full, or registered under another name)",
        )
    except api.TwirpError as error:
        return AgentProbe(False, f"LiveKit refused the request: {error.code} {error.message}")
    except (aiohttp.ClientError, OSError) as error:
        return AgentProbe(False, f"cannot reach LiveKit at {control.settings.http_url}: {error}")
    finally:
        # The room may never have been created, or the server be unreachable (reported).
        with contextlib.suppress(api.TwirpError, aiohttp.ClientError, OSError):
            await client.room.delete_room(api.DeleteRoomRequest(room=room))
