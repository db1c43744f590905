"""Runs one whole call on fakes from a scenario: what `voice-agent call --script` does, and
what the end-to-end tests and benchmarks drive."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import looptime

from voice_agent.adapters.audio.energy_vad import EnergyVoiceActivityDetector
from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.fakes.llm import ScriptedLanguageModel
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech
from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.adapters.turn_end.text import TextTurnEndDetector
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.session.call_session import CallSession, SessionPorts
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call
from voice_agent.entrypoints.bootstrap.store import storage_retry
from voice_agent.entrypoints.scripted.scenario import Scenario

T = TypeVar("T")


@dataclass(slots=True)
class ScriptedCall:
    """A call ready to run, with every fake exposed for inspection afterwards."""

    session: CallSession
    transport: InMemoryCallTransport
    stt: ScriptedSpeechToText
    llm: ScriptedLanguageModel
    tts: FakeTextToSpeech
    repository: CallRepository

    async def run(self) -> Call:
        try:
            return await self.session.run()
        finally:
            await self.transport.aclose()


def build_scripted_call(
    scenario: Scenario,
    *,
    base: SessionConfig | None = None,
    repository: CallRepository | None = None,
    sinks: Sequence[EventSink] = (),
    keep_played_audio: bool = True,
    line: type[InMemoryCallTransport] = InMemoryCallTransport,
    turn_end: TurnEndDetector | None = None,
) -> ScriptedCall:
    """`line`: the phone line's class (tests pass subclasses that inject faults);
    `turn_end`: the end-of-turn detector (by default the text rules)."""
    script = scenario.script
    transport = line(
        script, caller_number=scenario.caller_number, keep_played_audio=keep_played_audio
    )
    stt = ScriptedSpeechToText(script.transcripts, scenario.stt_settings())
    llm = ScriptedLanguageModel(scenario.replies, settings=scenario.llm_settings())
    tts = FakeTextToSpeech(scenario.tts_settings())
    repository = repository or InMemoryCallRepository()
    ports = SessionPorts(
        stt=stt,
        llm=llm,
        tts=tts,
        vad=EnergyVoiceActivityDetector(),
        repository=repository,
        clock=LoopClock(),
        canned=CannedSpeech(tts),
        sinks=sinks,
        storage_retry=storage_retry(),
        turn_end=turn_end or TextTurnEndDetector(),
    )
    session = CallSession(transport, ports, _config(scenario, base or SessionConfig()))
    return ScriptedCall(session, transport, stt, llm, tts, repository)


def _config(scenario: Scenario, base: SessionConfig) -> SessionConfig:
    s = scenario.settings
    prompts = (
        base.prompts
        if s.greeting is None
        else dataclasses.replace(base.prompts, greeting=s.greeting)
    )
    return dataclasses.replace(
        base,
        prompts=prompts,
        system_prompt=s.system_prompt or base.system_prompt,
        silence_timeout_s=s.silence_timeout or base.silence_timeout_s,
        max_call_duration_s=s.max_call_duration or base.max_call_duration_s,
        transfer_destination=s.transfer_destination or base.transfer_destination,
    )


def run_fast_forwarded(main: Callable[[], Awaitable[T]]) -> T:
    """Run on an event loop whose clock jumps over idle waits (looptime): a two-minute
    scripted call takes well under a second, with the same timeline as in real time."""
    loop = looptime.new_event_loop(start=0.0)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def run_scenario(
    scenario: Scenario,
    *,
    realtime: bool = False,
    base: SessionConfig | None = None,
    repository: CallRepository | None = None,
) -> ScriptedCall:
    """Run the call; `realtime` uses the wall clock (e.g. to watch a database fill)."""

    async def main() -> ScriptedCall:
        scripted = build_scripted_call(scenario, base=base, repository=repository)
        await scripted.run()
        return scripted

    return asyncio.run(main()) if realtime else run_fast_forwarded(main)
