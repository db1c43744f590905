"""What callers hear from SmolLM2 on a multi-question call, with the shipped persona and the
adapter's default sampling: a fresh answer to each question, no condolences, phone-length
answers. (On the earlier settings it gave one answer three times and opened with "I'm sorry
for your loss"; docs/answers.md has the whole question set.)"""

from __future__ import annotations

import re

import pytest

from tests.contract.local_models import smollm2
from voice_agent.application.ports.llm import TextDelta
from voice_agent.domain.history import DialogueHistory
from voice_agent.entrypoints.bootstrap.settings import DEFAULT_GREETING, DEFAULT_PERSONA

pytestmark = pytest.mark.slow

MAX_WORDS = 30
CONDOLENCE = re.compile(r"sorry for (your|the) loss|condolences|sympath", re.IGNORECASE)


async def call(questions: list[str]) -> list[str]:
    """The agent's answers, each asked with the call's history as the engine keeps it."""
    llm = smollm2()
    history = DialogueHistory(DEFAULT_PERSONA.read_text(encoding="utf-8").strip(), 2000)
    history.add_assistant(DEFAULT_GREETING)
    answers = []
    for question in questions:
        history.add_user(question)
        deltas = [e async for e in llm.stream(history.for_model()) if isinstance(e, TextDelta)]
        answers.append("".join(d.text for d in deltas).strip())
        history.add_assistant(answers[-1])
    return answers


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def overlap(a: str, b: str) -> float:
    return len(words(a) & words(b)) / len(words(a) | words(b))


@pytest.mark.parametrize(
    "questions",
    [
        ["Can you tell me your prices?", "What about a filling?", "And whitening?"],
        ["I lost a filling yesterday.", "It hurts when I drink something cold.", "What?"],
        ["What time do you close today?", "And on Saturday?", "Where are you located?"],
    ],
)
async def test_three_questions_get_three_short_different_answers_without_condolences(
    questions: list[str],
) -> None:
    answers = await call(questions)
    for answer in answers:
        assert answer, answers
        assert len(answer.split()) <= MAX_WORDS, answer
        assert not CONDOLENCE.search(answer), answer
    for later in range(1, len(answers)):
        for earlier in range(later):
            assert overlap(answers[earlier], answers[later]) <= 0.7, answers
