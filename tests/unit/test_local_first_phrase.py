"""The local stack's first phrase (`LocalModels.tune`): cut early, where a speaker may pause."""

from __future__ import annotations

import pytest

from voice_agent.application.phrases import PhraseAggregator
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.bootstrap.local_stack import LocalModels


def first_phrase(reply: str, *, early: bool = True) -> str:
    rules = LocalModels.tune(SessionConfig(), early_first_phrase=early).phrases
    aggregator = PhraseAggregator(rules)
    for token in reply.split(" "):  # a model's tokens carry their leading space
        if phrases := aggregator.push(token + " "):
            return phrases[0]
    return aggregator.flush()[0]


@pytest.mark.parametrize(
    ("reply", "first"),
    [
        ("Yes, we do teeth whitening on weekdays.", "Yes,"),
        ("We are open from nine to five on Saturday.", "We are open"),
        ("A check-up costs sixty euros.", "A check-up costs sixty euros."),
    ],
)
def test_the_local_stack_starts_speaking_at_the_first_natural_pause(reply: str, first: str) -> None:
    assert first_phrase(reply) == first


def test_the_earlier_rule_stays_available_for_comparison() -> None:
    assert first_phrase("We are open from nine to five on Saturday.", early=False) == (
        "We are open from nine to five on Saturday."
    )
    assert first_phrase("Yes, we do teeth whitening on weekdays.", early=False) == (
        "Yes, we do teeth whitening on weekdays."
    )
