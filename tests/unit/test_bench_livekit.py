"""The statistics `python -m bench livekit` reports: the first agent audio after a moment,
percentile summaries, what one transport adds over another, and the engine's own part of
a turn's latency."""

from __future__ import annotations

import math

import pytest
from bench.caller import Exchange
from bench.common import (
    engine_own_ms,
    first_at_or_after,
    last_before,
    latency_summary,
    paired_extra,
)
from bench.livekit_calls import inbound_ms, outbound_ms

from voice_agent.domain.turn import LatencyBreakdown


def test_the_first_loud_frame_at_or_after_the_end_of_speech_is_the_reply() -> None:
    heard = [1.0, 1.02, 3.5, 3.52]
    assert first_at_or_after(heard, 2.0) == 3.5
    assert first_at_or_after(heard, 3.5) == 3.5
    assert first_at_or_after(heard, 4.0) is None
    assert first_at_or_after([], 0.0) is None


def test_the_last_loud_frame_before_the_reply_is_the_end_of_the_callers_speech() -> None:
    heard = [1.0, 1.02, 1.04, 3.5]
    assert last_before(heard, 3.5) == 1.04
    assert last_before(heard, 4.0) == 3.5
    assert last_before(heard, 1.0) is None
    assert last_before([], 1.0) is None


def test_a_summary_gives_the_count_the_percentiles_and_the_worst() -> None:
    summary = latency_summary([float(v) for v in range(1, 101)])
    assert summary["n"] == 100
    assert summary["p50_ms"] == pytest.approx(50.5)
    assert summary["p95_ms"] == pytest.approx(95.05)
    assert summary["max_ms"] == 100.0


def test_an_empty_summary_says_nothing_was_measured() -> None:
    summary = latency_summary([])
    assert summary["n"] == 0
    assert all(math.isnan(summary[k]) for k in ("p50_ms", "p95_ms", "max_ms"))


def test_what_a_transport_adds_is_the_difference_of_the_percentiles() -> None:
    base = [100.0, 110.0, 120.0]
    other = [130.0, 140.0, 200.0]
    extra = paired_extra(base, other)
    assert extra["extra_p50_ms"] == pytest.approx(30.0)
    assert extra["extra_p95_ms"] == pytest.approx(194.0 - 119.0)  # interpolated


def test_the_engines_own_time_is_what_the_providers_did_not_take() -> None:
    # The final transcript (120 ms) plus the model (250 ms) come after the end of turn (350):
    # preemptively the text is there at 370 ms, then 90 ms of synthesis: 8 ms are the engine's.
    latency = LatencyBreakdown(
        eou_ms=350.0, stt_ms=120.0, llm_ttft_ms=250.0, tts_ttfb_ms=90.0, e2e_ms=468.0
    )
    assert engine_own_ms(latency) == pytest.approx(8.0)
    assert engine_own_ms(latency, preemptive=False) == pytest.approx(468.0 - 350 - 250 - 90)


def test_a_turn_without_a_stage_has_no_engine_time() -> None:
    assert engine_own_ms(LatencyBreakdown(eou_ms=350.0, e2e_ms=700.0)) is None


def test_a_turn_splits_into_the_way_in_and_the_way_out() -> None:
    """The way in ends at the last loud caller frame the engine received before the reply;
    the way out starts at the first loud agent audio handed to the line after the speech."""
    exchanges = [Exchange(speech_ended_at=1.0, reply_heard_at=2.0)]
    assert inbound_ms(exchanges, [0.5, 1.06, 1.08, 2.5]) == pytest.approx([80.0])
    assert outbound_ms(exchanges, [0.9, 1.9, 1.92]) == pytest.approx([100.0])
    assert outbound_ms(exchanges, [0.9]) == []
