"""A greeting rendered before the call (the worker does so at start-up) plays from its
recording the moment the call is answered: no synthesis, no synthesis delay, and the words the
caller heard before interrupting it are still known word by word."""

from __future__ import annotations

from typing import Any

from voice_agent.domain.call import Call
from voice_agent.entrypoints.scripted.runner import (
    ScriptedCall,
    build_scripted_call,
    run_fast_forwarded,
)
from voice_agent.entrypoints.scripted.scenario import parse_scenario

GREETING = "Thank you for calling Maple Street Dental, this is Sam. How can I help you?"
TTS_FIRST_AUDIO_S = 0.25


def _call(scenario: dict[str, Any], *, prerendered: bool) -> tuple[ScriptedCall, Call]:
    scripted = build_scripted_call(
        parse_scenario(
            {
                **scenario,
                "settings": {"greeting": GREETING},
                "latency": {"tts_ttfb": TTS_FIRST_AUDIO_S},
            }
        )
    )

    async def main() -> Call:
        if prerendered:
            rate = scripted.transport.output_sample_rate
            await scripted.opened.ports.canned.prepare(GREETING, rate)
        return await scripted.run()

    return scripted, run_fast_forwarded(main)


QUIET_CALLER = {"caller": [{"hang_up": True, "after_reply": 0}], "agent": []}


def test_a_prerendered_greeting_starts_at_the_answer_without_synthesis() -> None:
    _, live = _call(QUIET_CALLER, prerendered=False)
    ready_tts, ready = _call(QUIET_CALLER, prerendered=True)

    assert live.answer is not None
    assert ready.answer is not None
    assert live.answer.first_audio_ms is not None
    assert ready.answer.first_audio_ms is not None
    assert live.answer.first_audio_ms >= TTS_FIRST_AUDIO_S * 1000
    assert ready.answer.first_audio_ms < 10
    # Rendered once beforehand, then never again during the call.
    assert [" ".join(r).strip() for r in ready_tts.tts.requests] == [GREETING, *_apology(ready_tts)]
    assert ready.turns[0].text == live.turns[0].text == GREETING
    assert ready.turns[0].heard_text == GREETING


def test_a_caller_interrupting_a_prerendered_greeting_heard_only_its_first_words() -> None:
    interrupting = {
        "caller": [{"say": "Hi, I need an appointment", "into_reply": 1.5}, {"hang_up": True}],
        "agent": [{"reply": "Of course."}],
    }
    _, call = _call(interrupting, prerendered=True)

    greeting = call.turns[0]
    assert greeting.interrupted
    assert greeting.heard_text
    assert GREETING.startswith(greeting.heard_text)
    assert 1 < len(greeting.heard_text.split()) < len(GREETING.split())


def _apology(scripted: ScriptedCall) -> list[str]:
    """The apology the call renders for itself at its start (see CallSession.run)."""
    return [scripted.config.prompts.apology]
