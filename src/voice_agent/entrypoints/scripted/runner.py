"""Runs one whole call on fakes from a scenario: what `voice-agent call --script` does, and
what the end-to-end tests and benchmarks drive."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import looptime

from voice_agent.adapters.fakes.llm import ScriptedLanguageModel
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech
from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.application.call_runner import CallPorts, CallRunner
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.session.call_session import CallSession
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call
from voice_agent.entrypoints.bootstrap.fake_stack import scripted_stack
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech, call_ports
from voice_agent.entrypoints.scripted.scenario import Scenario

T = TypeVar("T")


@dataclass(slots=True)
class ScriptedCall:
    """A call ready to run, with every fake exposed for inspection afterwards."""

    transport: InMemoryCallTransport
    stt: ScriptedSpeechToText
    llm: ScriptedLanguageModel
    tts: FakeTextToSpeech
    repository: CallRepository
    config: SessionConfig
    opened: CallPorts
    session: CallSession | None = None
    """Set once the call has started."""

    async def run(self) -> Call:
        """Run the call through a `CallRunner`, as every call runs."""

        async def ports(sinks: Sequence[EventSink]) -> CallPorts:
            return self.opened

        call = await CallRunner(ports, self.config, max_calls=1).run(
            self.transport, started=self._started
        )
        if call is None:
            raise RuntimeError("the scripted call could not be set up (see the log)")
        return call

    @property
    def started_session(self) -> CallSession:
        if self.session is None:
            raise RuntimeError("the scripted call has not started")
        return self.session

    @property
    def call(self) -> Call:
        return self.started_session.call

    def _started(self, session: CallSession) -> None:
        self.session = session


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
    stack = scripted_stack(
        _config(scenario, base or SessionConfig()), CallSpeech(stt, llm, tts), turn_end
    )
    opened = call_ports(stack, repository, sinks)
    return ScriptedCall(transport, stt, llm, tts, repository, stack.config, opened)


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
