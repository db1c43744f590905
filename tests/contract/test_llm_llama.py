"""The LLM contract for SmolLM2 on llama.cpp, plus what makes it fast: the KV cache kept warm
across a call's turns, and across calls taking turns on the one model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from tests.contract.llm_contract import PROMPT, LanguageModelContract
from tests.contract.local_models import smollm2
from voice_agent.adapters.local import llama
from voice_agent.adapters.local.foreground import Foreground
from voice_agent.adapters.local.llama import LlamaCppLanguageModel, SamplingSettings, chatml
from voice_agent.application.ports.llm import LlmEvent, TextDelta, UsageReport
from voice_agent.domain.history import ChatMessage, MessageRole

pytestmark = pytest.mark.slow

SYSTEM = ChatMessage(MessageRole.SYSTEM, "You are a polite receptionist. Answer in one sentence.")
OPENING_HOURS = [SYSTEM, ChatMessage(MessageRole.USER, "What are your opening hours?")]


@pytest.fixture
def llm() -> LlamaCppLanguageModel:
    return smollm2()


@pytest.fixture(autouse=True)
async def _read_ahead_settled() -> AsyncIterator[None]:
    """The shared model reads ahead after each reply, past the test's end; the next test
    may drive the same `Llama` through another adapter, so that work must be over."""
    yield
    await smollm2().wait_read_ahead()


class TestLlamaCppLanguageModel(LanguageModelContract):
    pass


async def reply(llm: LlamaCppLanguageModel, messages: list[ChatMessage]) -> tuple[str, int]:
    """The reply text and how many prompt tokens came from the cache."""
    before = llm.cache_hits
    events: list[LlmEvent] = [e async for e in llm.stream(messages)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return text, llm.cache_hits - before


def prompt_tokens(llm: LlamaCppLanguageModel, messages: list[ChatMessage]) -> int:
    return len(llm._llama.tokenize(chatml(messages).encode(), add_bos=False, special=True))


async def test_the_next_turn_reuses_the_previous_prompt_and_reply_from_the_cache(
    llm: LlamaCppLanguageModel,
) -> None:
    dialogue = [SYSTEM, ChatMessage(MessageRole.USER, "Hello, are you open on Monday?")]
    first, _ = await reply(llm, dialogue)
    dialogue += [
        ChatMessage(MessageRole.ASSISTANT, first),
        ChatMessage(MessageRole.USER, "And how late?"),
    ]
    _, reused = await reply(llm, dialogue)
    assert reused >= prompt_tokens(llm, dialogue[:2]), "turn 1's prompt must not be re-evaluated"


async def test_calls_taking_turns_get_their_own_prefix_back(llm: LlamaCppLanguageModel) -> None:
    a = [SYSTEM, ChatMessage(MessageRole.USER, "I would like to book a cleaning.")]
    b = [
        ChatMessage(MessageRole.SYSTEM, "You are a pirate. Speak like one, briefly."),
        ChatMessage(MessageRole.USER, "Where is the treasure buried?"),
    ]
    a.append(ChatMessage(MessageRole.ASSISTANT, (await reply(llm, a))[0]))
    await reply(llm, b)  # the other call evicts a's dialogue from the live cache
    a.append(ChatMessage(MessageRole.USER, "Tomorrow morning, please."))
    _, reused = await reply(llm, a)
    assert reused >= prompt_tokens(llm, a[:2])


async def test_usage_counts_prompt_and_reply_tokens(llm: LlamaCppLanguageModel) -> None:
    events = [e async for e in llm.stream(PROMPT)]
    usage = [e for e in events if isinstance(e, UsageReport)]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(usage) == 1
    assert usage[0].prompt_tokens == prompt_tokens(llm, list(PROMPT))
    assert usage[0].completion_tokens >= len(deltas) > 0


async def test_replies_stop_after_the_sentence_limit() -> None:
    llm = smollm2()
    one = LlamaCppLanguageModel(
        llm._llama, sampling=SamplingSettings(max_sentences=1), read_ahead=False
    )
    ask = [SYSTEM, ChatMessage(MessageRole.USER, "Tell me everything about your clinic.")]
    text, _ = await reply(one, ask)
    assert text.strip()
    body = text.strip()[:-1]
    assert not any(mark + " " in body for mark in ".!?"), text


async def test_a_dialogue_longer_than_the_window_drops_its_oldest_turns() -> None:
    small = LlamaCppLanguageModel.load(context_tokens=256)
    long_dialogue = [SYSTEM]
    for i in range(20):
        long_dialogue += [
            ChatMessage(MessageRole.USER, f"Question number {i}: are you open today?"),
            ChatMessage(MessageRole.ASSISTANT, "Yes, we are open from eight to six."),
        ]
    long_dialogue.append(ChatMessage(MessageRole.USER, "Thanks. One more thing?"))
    assert prompt_tokens(small, long_dialogue) > 256
    text, _ = await reply(small, long_dialogue)
    assert text.strip()


class ParkingForeground(Foreground):
    """Says when background work parks waiting for it."""

    def __init__(self) -> None:
        super().__init__()
        self.parked = threading.Event()

    def wait_clear(self, limit_s: float) -> float:
        if self.busy:
            self.parked.set()
        return super().wait_clear(limit_s)


async def test_generation_waits_between_tokens_while_a_caller_waits_on_other_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(llama, "FOREGROUND_WAIT_S", 30.0)
    foreground = ParkingForeground()
    llm = LlamaCppLanguageModel(smollm2().llama, foreground=foreground, read_ahead=False)
    release = threading.Event()
    held = threading.Event()

    def piper_rendering_a_first_phrase() -> None:
        with foreground.hold():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=piper_rendering_a_first_phrase)
    holder.start()
    held.wait(30)
    stream = llm.stream(OPENING_HOURS)
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    assert await asyncio.to_thread(foreground.parked.wait, 30)  # parked before its next token
    assert llm.worker.status().running_for_s is not None, "parked, not finished"
    release.set()
    rest = [event async for event in stream]
    holder.join(30)
    assert sum(isinstance(e, TextDelta) for e in rest) >= 2, "it went on once released"
    assert isinstance(rest[-1], UsageReport)


async def test_a_reply_waits_for_foreground_work_no_longer_than_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(llama, "FOREGROUND_WAIT_S", 0.05)
    foreground = Foreground()
    model = LlamaCppLanguageModel(smollm2().llama, foreground=foreground, read_ahead=False)
    with foreground.hold():  # an overloaded machine: foreground work never stops
        text, _ = await reply(model, OPENING_HOURS)
    assert text.strip()
    assert foreground.yields >= 1


async def test_forgetting_drops_every_kept_prompt() -> None:
    model = LlamaCppLanguageModel(smollm2().llama, read_ahead=False)
    messages = [SYSTEM, ChatMessage(MessageRole.USER, "Do you take new patients?")]
    await reply(model, messages)
    _, cached = await reply(model, messages)
    assert cached > 0, "the same prompt again comes from the cache"
    await model.forget()
    _, cached = await reply(model, messages)
    assert cached == 0


async def test_after_a_reply_the_next_turn_evaluates_only_the_callers_words(
    llm: LlamaCppLanguageModel,
) -> None:
    dialogue = [SYSTEM, ChatMessage(MessageRole.USER, "Hello, are you open on Monday?")]
    first, _ = await reply(llm, dialogue)
    await llm.wait_read_ahead()
    dialogue.append(ChatMessage(MessageRole.ASSISTANT, first.strip()))
    read_ahead = chatml(dialogue).removesuffix(llama.ASSISTANT_HEADER) + llama.USER_HEADER
    ahead_tokens = len(llm.llama.tokenize(read_ahead.encode(), add_bos=False, special=True))
    dialogue.append(ChatMessage(MessageRole.USER, "And how late?"))
    _, reused = await reply(llm, dialogue)
    assert reused >= ahead_tokens
    assert prompt_tokens(llm, dialogue) - reused <= 12  # "And how late?" and the header


async def test_a_reply_cut_short_is_not_read_ahead() -> None:
    llm = LlamaCppLanguageModel(smollm2().llama)
    stream = llm.stream(OPENING_HOURS)
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    await llm.wait_read_ahead()
    header = tuple(llm.llama.tokenize(llama.USER_HEADER.encode(), False, True))
    assert llm._saved, "the reply's own state is kept"
    assert not any(key[-len(header) :] == header for key in llm._saved)
    assert [e async for e in llm.stream(OPENING_HOURS)]
    await llm.wait_read_ahead()
    assert any(key[-len(header) :] == header for key in llm._saved), "a whole reply is"
