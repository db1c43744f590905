from voice_agent.adapters.event_channel import EventChannel


async def test_a_bounded_channel_keeps_the_newest_items_and_the_end() -> None:
    channel: EventChannel[int] = EventChannel(max_items=3)
    for n in range(5):
        channel.put(n)
    channel.close()
    assert [n async for n in channel.stream()] == [3, 4]
    assert channel.dropped == 3
