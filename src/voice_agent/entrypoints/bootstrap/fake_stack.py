"""The stack of scripted fakes: what scripted calls (`voice-agent call --script`), the
end-to-end tests and the engine benchmarks run on."""

from __future__ import annotations

from collections.abc import AsyncIterator

from voice_agent.adapters.audio.energy_vad import EnergyVoiceActivityDetector
from voice_agent.adapters.fakes.llm import ScriptedLanguageModel
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech
from voice_agent.adapters.turn_end.text import TextTurnEndDetector
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.bootstrap.settings import StackName
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech, Stack


def scripted_stack(
    config: SessionConfig, speech: CallSpeech, turn_end: TurnEndDetector | None = None
) -> Stack:
    """A stack of fakes for scripted calls (one call: `speech` is that call's)."""
    return Stack(
        StackName.FAKE,
        config,
        lambda: speech,
        EnergyVoiceActivityDetector(),
        CannedSpeech(speech.tts),
        turn_end or TextTurnEndDetector(),
        web_phone=False,
    )


async def fake_stack(config: SessionConfig) -> AsyncIterator[Stack]:
    """The container's `fake` stack: scripted fakes with nothing scripted (a scenario gives
    each call its own, see `build_scripted_call`)."""
    tts = FakeTextToSpeech()
    yield scripted_stack(config, CallSpeech(ScriptedSpeechToText(), ScriptedLanguageModel(), tts))
