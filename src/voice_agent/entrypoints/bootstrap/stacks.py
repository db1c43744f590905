"""A loaded stack of adapters, and the one place a call's ports are put together.

A stack is what a process loads once (models, provider clients, breakers) and shares
between calls. Each call asks it for its speech ports (`speech()`: the shared models on the
local stack, per-call metered resilience chains on the cloud stack, one scenario's fakes in
a scripted call); `call_ports` adds what every call gets whatever the stack (the store, a
clock, the sinks, storage retries, usage recording) and is the only code in `src/` that
builds `SessionPorts`.

To add a stack: a function that loads it and returns a `Stack` (see `local_stack.py`,
`cloud_stack.py`), registered as a member of the container's `stack` selector.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from voice_agent.adapters.clock import LoopClock
from voice_agent.application.call_runner import CallPorts
from voice_agent.application.metering import record_usage
from voice_agent.application.ports.llm import LanguageModel
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.stt import SpeechToText
from voice_agent.application.ports.tts import TextToSpeech
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.ports.vad import VoiceActivityDetector
from voice_agent.application.resilience import BreakerSnapshot
from voice_agent.application.session.call_session import SessionPorts
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call
from voice_agent.domain.usage import Prices, UsageLedger
from voice_agent.entrypoints.bootstrap.health import Probe
from voice_agent.entrypoints.bootstrap.settings import StackName
from voice_agent.entrypoints.bootstrap.store import storage_retry


@dataclass(frozen=True, slots=True)
class CallSpeech:
    """One call's speech ports. `ledger`: where metered ports count the call's usage (its
    cost is stored when the call ends), None when nothing is billed."""

    stt: SpeechToText
    llm: LanguageModel
    tts: TextToSpeech
    ledger: UsageLedger | None = None


async def _nothing_to_close() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Stack:
    name: StackName
    config: SessionConfig
    """The session configuration tuned for the stack (e.g. Piper's shorter first phrase)."""
    speech: Callable[[], CallSpeech]
    vad: VoiceActivityDetector
    canned: CannedSpeech
    """Canned lines (the apology), rendered once per process and shared by every call."""
    turn_end: TurnEndDetector
    prices: Mapping[str, Prices] = field(default_factory=dict)
    probes: Mapping[str, Probe] = field(default_factory=dict)
    """`/health` probes of the stages (stt, llm, tts, turn_end), from breakers or workers."""
    breakers: Callable[[], Iterable[BreakerSnapshot]] | None = None
    """The process's circuit breakers, for `/metrics`."""
    web_phone: bool = True
    """Whether a person can call it from the browser (not on scripted fakes)."""
    close: Callable[[], Awaitable[None]] = _nothing_to_close


def call_ports(stack: Stack, repository: CallRepository, sinks: Sequence[EventSink]) -> CallPorts:
    """One call's ports on `stack`; when the call ends, its usage and cost are stored and
    published to `sinks` (if the stack meters usage)."""
    speech = stack.speech()
    clock = LoopClock()
    ports = SessionPorts(
        stt=speech.stt,
        llm=speech.llm,
        tts=speech.tts,
        vad=stack.vad,
        repository=repository,
        clock=clock,
        canned=stack.canned,
        sinks=sinks,
        turn_end=stack.turn_end,
        storage_retry=storage_retry(),
    )
    ledger = speech.ledger
    if ledger is None:
        return CallPorts(ports)

    async def finish(call: Call) -> None:
        event = await record_usage(call, ledger, dict(stack.prices), repository, clock)
        for sink in sinks:
            sink(event)

    return CallPorts(ports, finish)
