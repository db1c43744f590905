"""Many callers at once, in their own process so that the worker's process measures only
the worker: `python -m bench.livekit_callers --calls N --turns T --stagger S --agent NAME
[--first K --of M]`, the server from LIVEKIT_URL (http), LIVEKIT_API_KEY and
LIVEKIT_API_SECRET (in the environment, not on the command line). Each call: a room
created, the caller in it, the agent dispatched, the greeting heard, T turns. Prints one
JSON object: the caller's voice-to-voice of every turn (ms), the failures, the connects
retried, and this process's CPU seconds and wall time.

The bench runs several of these processes (`--first`/`--of`: this one's calls are numbers
K, K+1, ... of M, started at their moment in the stagger window of all M), because one
process's rtc SDK runtime does not take 20+ rooms at once: its Python loop, busy with
every caller's microphone, answers the FFI's `ReadyForRoomEventRequest` wait too late and
the SDK panics ("timed out waiting for ReadyForRoomEventRequest after ConnectCallback"),
killing the process. Within a process, rooms connect `CONNECTS_AT_ONCE` at a time and a
failed connect is tried once more in a fresh room."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import time
from typing import Any

from bench.caller import talk
from bench.livekit_caller import LiveKitCaller, RoomAdmin, ServerAccess

CONNECTS_AT_ONCE = 2
"""Rooms one process connects at the same moment (the rest wait their turn)."""
CONNECT_TRIES = 2


class CallFailed(Exception):
    """One call failed: at which stage, and why."""


async def connected_caller(
    access: ServerAccess, admin: RoomAdmin, agent: str, gate: asyncio.Semaphore
) -> tuple[LiveKitCaller, float, int]:
    """A room created, the caller in it and the agent dispatched: the caller, the loop time
    the room was created at, and how many connects failed before (retried in a new room)."""
    loop = asyncio.get_running_loop()
    for attempt in range(CONNECT_TRIES):
        room = f"many-{secrets.token_hex(4)}"
        caller = LiveKitCaller()
        try:
            async with gate:
                created_at = loop.time()
                await admin.create_room(room)
                await caller.join(access, room)
            await admin.dispatch(room, agent)
            return caller, created_at, attempt
        except Exception:
            await caller.leave()
            if attempt + 1 == CONNECT_TRIES:
                raise
    raise AssertionError("unreachable")


async def one_call(
    access: ServerAccess,
    admin: RoomAdmin,
    agent: str,
    turns: int,
    delay: float,
    gate: asyncio.Semaphore,
    retries: list[int],
) -> list[float]:
    await asyncio.sleep(delay)
    try:
        caller, created_at, retried = await connected_caller(access, admin, agent, gate)
    except Exception as error:
        raise CallFailed(f"connecting: {error!r}") from error
    retries.append(retried)
    try:
        return [e.voice_to_voice_ms for e in await talk(caller, created_at, turns)]
    except Exception as error:
        heard = "greeting heard" if caller.loud_times else "no agent audio heard"
        track = "agent track seen" if caller.agent_track_at else "no agent track"
        raise CallFailed(f"talking ({track}, {heard}): {error!r}") from error
    finally:
        await caller.leave()


async def run(
    access: ServerAccess, calls: range, of: int, turns: int, stagger: float, agent: str
) -> Any:
    admin = RoomAdmin(access)
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
    retries: list[int] = []
    try:
        spread = stagger / max(1, of)
        results = await asyncio.gather(
            *(one_call(access, admin, agent, turns, n * spread, gate, retries) for n in calls),
            return_exceptions=True,
        )
    finally:
        await admin.aclose()
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    latencies = [v for r in results if not isinstance(r, BaseException) for v in r]
    return {"voice_to_voice_ms": latencies, "failures": failures, "retried": sum(retries)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.livekit_callers")
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--of", type=int, help="calls in all processes (default: --calls)")
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--stagger", type=float, default=3.0)
    parser.add_argument("--agent", required=True)
    args = parser.parse_args()
    url = os.environ["LIVEKIT_URL"]
    access = ServerAccess(
        url=url,
        ws_url=url.replace("http", "ws", 1),
        api_key=os.environ["LIVEKIT_API_KEY"],
        api_secret=os.environ["LIVEKIT_API_SECRET"],
    )
    calls = range(args.first, args.first + args.calls)
    wall_start = time.perf_counter()
    report = asyncio.run(
        run(access, calls, args.of or args.calls, args.turns, args.stagger, args.agent)
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report["cpu_s"] = usage.ru_utime + usage.ru_stime
    report["wall_s"] = time.perf_counter() - wall_start
    print(json.dumps(report))


if __name__ == "__main__":
    main()
