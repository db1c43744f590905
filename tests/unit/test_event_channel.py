import asyncio

from voice_agent.adapters.event_channel import EventChannel


async def test_a_bounded_channel_keeps_the_newest_items_and_the_end() -> None:
    channel: EventChannel[int] = EventChannel(max_items=3)
    for n in range(5):
        channel.put(n)
    channel.close()
    assert [n async for n in channel.stream()] == [3, 4]
    assert channel.dropped == 3


async def test_items_put_after_the_end_never_push_the_end_out() -> None:
    # A live source (the caller's audio) may still deliver frames after the call has ended.
    channel: EventChannel[int] = EventChannel(max_items=3)
    channel.put(1)
    channel.close()
    for n in range(10):
        channel.put(n)
    async with asyncio.timeout(5):  # without the end the stream would wait for ever
        assert [n async for n in channel.stream()] == [1]
