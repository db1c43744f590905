"""Many callers at once, in their own process so that the worker's process measures only
the worker: `python -m bench.livekit_callers --calls N --turns T --stagger S --agent NAME`,
the server from LIVEKIT_URL (http), LIVEKIT_API_KEY and LIVEKIT_API_SECRET (in the
environment, not on the command line). Each call: a room created, the caller in it, the
agent dispatched, the greeting heard, T turns. Prints one JSON object: the caller's
voice-to-voice of every turn (ms) and the failures."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
from typing import Any

from bench.caller import talk
from bench.livekit_caller import LiveKitCaller, RoomAdmin, ServerAccess


async def one_call(
    access: ServerAccess, admin: RoomAdmin, agent: str, turns: int, delay: float
) -> list[float]:
    await asyncio.sleep(delay)
    room = f"many-{secrets.token_hex(4)}"
    created_at = asyncio.get_running_loop().time()
    await admin.create_room(room)
    caller = LiveKitCaller()
    try:
        await caller.join(access, room)
        await admin.dispatch(room, agent)
        return [e.voice_to_voice_ms for e in await talk(caller, created_at, turns)]
    finally:
        await caller.leave()


async def run(access: ServerAccess, calls: int, turns: int, stagger: float, agent: str) -> Any:
    admin = RoomAdmin(access)
    try:
        spread = stagger / max(1, calls)
        results = await asyncio.gather(
            *(one_call(access, admin, agent, turns, n * spread) for n in range(calls)),
            return_exceptions=True,
        )
    finally:
        await admin.aclose()
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    latencies = [v for r in results if not isinstance(r, BaseException) for v in r]
    return {"voice_to_voice_ms": latencies, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.livekit_callers")
    parser.add_argument("--calls", type=int, required=True)
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
    report = asyncio.run(run(access, args.calls, args.turns, args.stagger, args.agent))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
