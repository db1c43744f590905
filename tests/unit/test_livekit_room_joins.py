"""`LiveKitRoom` under a burst of dispatches: the rtc SDK's runtime is asked to join only a
few rooms at once (the rest wait their turn), and a track publication that fails is a
room that could not be joined (the transport's `LineNotAnswered`), not a crash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast
from unittest import mock

import pytest
from livekit import rtc
from livekit.rtc.participant import PublishTrackError

from voice_agent.adapters.livekit.room import JOINS_AT_ONCE, LiveKitRoom, RoomListener

pytestmark = pytest.mark.looptime
JOIN_S = 1.0


@dataclass
class Joins:
    """Rooms being joined right now, and the most at any moment."""

    now: int = 0
    most: int = 0


class SlowSdkRoom:
    """The part of `rtc.Room` that `LiveKitRoom.connect` uses: joining takes `JOIN_S`."""

    def __init__(self, joins: Joins, *, publish_fails: bool = False) -> None:
        self.joins = joins
        self.publish_fails = publish_fails
        self.joined = False
        self.remote_participants: dict[str, Any] = {}
        self.local_participant = self

    def on(self, event: str, callback: Any = None) -> Any:
        return callback

    async def connect(self, url: str, token: str) -> None:
        self.joins.now += 1
        self.joins.most = max(self.joins.most, self.joins.now)
        await asyncio.sleep(JOIN_S / 2)

    async def publish_track(self, track: Any, options: Any) -> None:
        await asyncio.sleep(JOIN_S / 2)
        self.joins.now -= 1
        if self.publish_fails:
            raise PublishTrackError("track publication timed out")
        self.joined = True


def room_on(sdk_room: SlowSdkRoom) -> LiveKitRoom:
    return LiveKitRoom("ws://unused", "unused", sample_rate=16000, room=cast(rtc.Room, sdk_room))


async def test_a_burst_of_joins_goes_a_few_rooms_at_a_time_and_all_join() -> None:
    joins = Joins()
    sdk_rooms = [SlowSdkRoom(joins) for _ in range(10)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    listener = cast(RoomListener, mock.Mock())
    await asyncio.gather(*(room_on(r).connect(listener) for r in sdk_rooms))
    assert joins.most == JOINS_AT_ONCE
    assert all(r.joined for r in sdk_rooms)
    assert loop.time() - started == pytest.approx(JOIN_S * -(-10 // JOINS_AT_ONCE), abs=0.01)


async def test_a_track_that_cannot_be_published_is_a_room_not_joined() -> None:
    room = room_on(SlowSdkRoom(Joins(), publish_fails=True))
    with pytest.raises(ConnectionError, match="could not publish the agent's track: track pub"):
        await room.connect(cast(RoomListener, mock.Mock()))


async def test_a_join_cancelled_midway_lets_the_sdk_connect_finish_then_leaves() -> None:
    """Cancelling the SDK's connect after it connected the room panicked its runtime (the
    room never told ready): the connect runs to its end, then the room is left."""
    sdk_room = SlowSdkRoom(Joins())
    finished = asyncio.Event()
    disconnected = asyncio.Event()

    async def connect(url: str, token: str) -> None:
        await asyncio.sleep(JOIN_S)
        finished.set()

    async def disconnect() -> None:
        disconnected.set()

    sdk_room.connect = connect  # type: ignore[method-assign]
    sdk_room.disconnect = disconnect  # type: ignore[attr-defined]
    room = room_on(sdk_room)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(JOIN_S / 4):
            await room.connect(cast(RoomListener, mock.Mock()))
    await asyncio.wait_for(disconnected.wait(), JOIN_S)
    assert finished.is_set()
