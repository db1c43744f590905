import asyncio
import itertools

import pytest

from voice_agent.adapters.audio.playout import PacedPlayout
from voice_agent.adapters.audio.signal import tone
from voice_agent.domain.audio import AudioChunk

pytestmark = pytest.mark.looptime


async def test_frames_leave_on_an_absolute_20_ms_schedule() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()
    playout = PacedPlayout(16000, lambda frame: sent.append(loop.time()))
    playout.play(tone(0.2, 16000))
    await playout.wait_played_out()
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(sent)]
    assert len(sent) == 10
    assert set(gaps) == {0.02}
    assert max(playout.stats.lateness_s) == pytest.approx(0.0, abs=1e-6)
    await playout.aclose()


async def test_a_dry_queue_while_audio_is_still_coming_is_an_underrun() -> None:
    playout = PacedPlayout(16000, lambda frame: None)
    playout.play(tone(0.1, 16000))
    await asyncio.sleep(0.3)  # the producer is late: 200 ms of dead air
    playout.play(tone(0.1, 16000))
    await playout.wait_played_out()
    assert playout.stats.underruns == 1
    await playout.aclose()


async def test_finishing_normally_is_not_an_underrun() -> None:
    playout = PacedPlayout(16000, lambda frame: None)
    playout.play(tone(0.1, 16000))
    await playout.wait_played_out()
    await asyncio.sleep(0.5)
    assert playout.stats.underruns == 0
    await playout.aclose()


async def test_a_partial_last_frame_is_padded_and_played() -> None:
    frames: list[AudioChunk] = []
    playout = PacedPlayout(16000, frames.append)
    playout.play(tone(0.05, 16000))
    await playout.wait_played_out()
    assert [f.duration for f in frames] == [0.02, 0.02, 0.02]
    assert playout.played_seconds == pytest.approx(0.06)
    await playout.aclose()


async def test_audio_at_the_wrong_rate_is_refused() -> None:
    playout = PacedPlayout(16000, lambda frame: None)
    with pytest.raises(ValueError, match="runs at 16000 Hz, got audio at 8000 Hz"):
        playout.play(tone(0.1, 8000))


async def test_halt_never_reports_unplayed_audio_as_played() -> None:
    playout = PacedPlayout(16000, lambda frame: None)
    playout.play(tone(1.0, 16000))
    await asyncio.sleep(0.1)
    playout.halt()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(playout.wait_played_out(), 1.0)
    assert playout.played_seconds == pytest.approx(0.12, abs=0.021)


async def test_a_lead_hands_frames_to_the_sink_ahead_of_when_they_are_heard() -> None:
    """For a sink that buffers and plays in real time itself (LiveKit's AudioSource): the
    first frames go at once, then each one `lead_s` before it is heard, so an event-loop
    stall shorter than the lead leaves the sink something to play."""
    sent: list[float] = []
    loop = asyncio.get_running_loop()
    playout = PacedPlayout(16000, lambda frame: sent.append(loop.time()), lead_s=0.06)
    start = loop.time()
    playout.play(tone(0.2, 16000))
    await playout.wait_played_out()
    heard_at = [start + 0.02 * n for n in range(10)]
    ahead = [round(due - at, 6) for due, at in zip(heard_at, sent, strict=True)]
    assert ahead[:4] == [0.0, 0.02, 0.04, 0.06]
    assert set(ahead[3:]) == {0.06}
    assert max(playout.stats.lateness_s) == pytest.approx(0.0, abs=1e-6)
    await playout.aclose()


async def test_audio_resuming_within_the_lead_is_heard_after_what_the_sink_still_holds() -> None:
    """A gap shorter than the lead (the producer was late, the sink still plays what was
    handed ahead): the next frames are heard after those, so the played-out position and
    the end of `wait_played_out` stay where the listener is."""
    loop = asyncio.get_running_loop()
    playout = PacedPlayout(16000, lambda frame: None, lead_s=0.06)
    start = loop.time()
    playout.play(tone(0.1, 16000))  # handed by 0.04, heard until 0.1
    await asyncio.sleep(0.05)
    playout.play(tone(0.1, 16000))  # heard from 0.1 to 0.2
    await asyncio.sleep(0.04)
    # the frames begun by now: 0.09 s of audio and the one playing
    assert playout.played_seconds == pytest.approx(0.11, abs=0.001)
    await playout.wait_played_out()
    assert loop.time() - start == pytest.approx(0.18, abs=0.001)
    assert playout.played_seconds == pytest.approx(0.2, abs=0.001)
    await playout.aclose()
