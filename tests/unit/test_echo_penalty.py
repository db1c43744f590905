"""The logit penalties against copying an earlier answer and against phrases never said."""

from __future__ import annotations

import numpy as np

from voice_agent.adapters.local.repetition import EchoPenalty, EchoSettings

EARLIER = [10, 11, 12, 13, 14]
SETTINGS = EchoSettings(multiplier=0.8, base=1.75, allowed_tokens=2)


def penalty(reply: list[int], banned: list[list[int]] | None = None) -> dict[int, float]:
    return EchoPenalty([EARLIER], banned or [], 0, SETTINGS).penalties(reply)


def test_a_short_shared_run_is_free() -> None:
    assert penalty([10]) == {}


def test_the_penalty_grows_with_the_copied_run() -> None:
    assert penalty([7, 10, 11]) == {12: 0.8}
    assert penalty([10, 11, 12]) == {13: 0.8 * 1.75}
    assert penalty([10, 11, 12, 13]) == {14: 0.8 * 1.75**2}


def test_the_last_token_of_a_banned_phrase_is_banned_once_the_rest_was_said() -> None:
    assert penalty([5, 20, 21], banned=[[20, 21, 22]]) == {22: float("inf")}
    assert penalty([5, 20], banned=[[20, 21, 22]]) == {}


def test_scores_are_lowered_only_after_the_prompt() -> None:
    prompt = [10, 11]  # the earlier answer quoted in the prompt is not the reply copying it
    scores = np.zeros(32, dtype=np.single)
    EchoPenalty([EARLIER], [], len(prompt), SETTINGS)(np.array(prompt, dtype=np.intc), scores)
    assert not scores.any()
    EchoPenalty([EARLIER], [], 1, SETTINGS)(np.array([9, 10, 11], dtype=np.intc), scores)
    assert scores[12] == np.single(-0.8)


def test_off_when_the_multiplier_is_zero() -> None:
    off = EchoPenalty([EARLIER], [], 0, EchoSettings(multiplier=0.0))
    assert off.penalties([10, 11, 12]) == {}
