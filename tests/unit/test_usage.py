from collections.abc import AsyncIterator

import pytest

from voice_agent.adapters.audio.signal import tone
from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.fakes.llm import FakeLlmSettings, ScriptedLanguageModel, ScriptedReply
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech, FakeTtsSettings
from voice_agent.application.metering import (
    MeteredLanguageModel,
    MeteredSpeechToText,
    MeteredTextToSpeech,
    usage_event,
)
from voice_agent.domain.history import ChatMessage, MessageRole
from voice_agent.domain.usage import Prices, ProviderUsage, UsageLedger

pytestmark = pytest.mark.looptime


async def test_the_ledger_sums_per_provider_and_prices_it() -> None:
    ledger = UsageLedger()
    ledger.add_llm("groq", 1000, 200)
    ledger.add_llm("groq", 500, 100)
    ledger.add_stt("deepgram", 90.0)
    ledger.add_tts("cartesia", 2000)
    ledger.add_tts("piper", 500)
    assert ledger.by_provider()[2] == ProviderUsage("groq", 1500, 300)
    prices = {
        "groq": Prices(llm_prompt_per_million_tokens=0.6, llm_completion_per_million_tokens=0.8),
        "deepgram": Prices(stt_per_minute=0.0077),
        "cartesia": Prices(tts_per_thousand_characters=0.03),
    }
    expected = 1500 * 0.6e-6 + 300 * 0.8e-6 + 1.5 * 0.0077 + 2 * 0.03
    assert ledger.cost(prices) == pytest.approx(expected)


async def test_usage_of_different_providers_does_not_add_up() -> None:
    with pytest.raises(ValueError, match="'groq' to 'cartesia'"):
        _ = ProviderUsage("cartesia") + ProviderUsage("groq")


async def _one(text: str) -> AsyncIterator[str]:
    yield text


async def test_the_metering_decorators_fill_the_call_ledger() -> None:
    ledger = UsageLedger()
    llm = MeteredLanguageModel(
        ScriptedLanguageModel(
            settings=FakeLlmSettings(ttft_s=0.01), default=ScriptedReply("Yes we are open")
        ),
        "groq",
        ledger,
    )
    _ = [e async for e in llm.stream([ChatMessage(MessageRole.USER, "Open?")])]
    tts = MeteredTextToSpeech(FakeTextToSpeech(FakeTtsSettings(ttfb_s=0.01)), "cartesia", ledger)
    _ = [e async for e in tts.synthesize(_one(" Hello there. "), sample_rate=8000)]
    stt = MeteredSpeechToText(ScriptedSpeechToText(["hi"]), "deepgram", ledger)
    session = await stt.open_session()
    await session.push_audio(tone(0.5, 8000))
    await session.close()
    usage = {u.provider: u for u in ledger.by_provider()}
    assert usage["groq"].llm_completion_tokens > 0
    assert usage["cartesia"].tts_characters == len("Hello there.")
    assert usage["deepgram"].stt_audio_seconds == pytest.approx(0.5)
    event = usage_event(
        "call-1", ledger, {"cartesia": Prices(tts_per_thousand_characters=1)}, LoopClock()
    )
    assert event.cost_usd == pytest.approx(0.012)
    assert event.usage == ledger.by_provider()


async def test_a_stream_closed_before_its_usage_report_is_still_counted() -> None:
    """A barge-in or a dropped preemptive reply closes the model's stream before the
    provider's usage report; the tokens were billed all the same, so they are estimated."""
    ledger = UsageLedger()
    llm = MeteredLanguageModel(
        ScriptedLanguageModel(
            settings=FakeLlmSettings(ttft_s=0.01),
            default=ScriptedReply("We open at nine on Saturdays and close at one."),
        ),
        "groq",
        ledger,
    )
    question = ChatMessage(MessageRole.USER, "Are you open on Saturday morning?")
    stream = llm.stream([question])
    first = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    (usage,) = ledger.by_provider()
    assert usage.provider == "groq"
    assert usage.llm_prompt_tokens == -(-len(question.content) // 4)
    assert usage.llm_completion_tokens >= 1
    assert first is not None


async def test_a_request_that_fails_before_answering_is_not_counted() -> None:
    ledger = UsageLedger()
    llm = MeteredLanguageModel(
        ScriptedLanguageModel([ScriptedReply(fail_after_tokens=0)]), "groq", ledger
    )
    with pytest.raises(Exception, match="unavailable"):
        _ = [e async for e in llm.stream([ChatMessage(MessageRole.USER, "Open?")])]
    assert ledger.by_provider() == ()
