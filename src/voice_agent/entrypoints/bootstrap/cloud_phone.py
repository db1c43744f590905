"""The cloud stack (Deepgram, Groq, Cartesia) behind the web phone: providers built and their
keys checked once at start-up, each call wrapped in its own resilience chains and usage
ledger, the usage and cost stored when the call ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from voice_agent.adapters.clock import LoopClock
from voice_agent.application.metering import record_usage
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.vad import VoiceActivityDetector
from voice_agent.application.resilience import BreakerBoard
from voice_agent.application.session.call_session import SessionPorts
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.domain.call import Call
from voice_agent.domain.usage import UsageLedger
from voice_agent.entrypoints.bootstrap.cloud import build_cloud_providers
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.bootstrap.store import storage_retry
from voice_agent.entrypoints.bootstrap.turn_end import turn_end_detector
from voice_agent.entrypoints.web.phone import CallPorts

CloudPorts = Callable[[CallRepository, Sequence[EventSink]], CallPorts]


def caller_vad() -> VoiceActivityDetector:
    """Silero when the local extra is installed (better barge-in on noisy lines), else the
    energy detector."""
    try:
        from voice_agent.adapters.local.silero import SileroVoiceActivityDetector
    except ImportError:
        from voice_agent.adapters.audio.energy_vad import EnergyVoiceActivityDetector

        return EnergyVoiceActivityDetector()
    return SileroVoiceActivityDetector()


@dataclass(frozen=True, slots=True)
class CloudStack:
    ports: CloudPorts
    close: Callable[[], Awaitable[None]]
    board: BreakerBoard
    """The process's circuit breakers, one per provider: what `/health` and `/metrics` read."""
    stages: dict[str, list[str]]
    """Each stage's providers in fallback order."""


async def load_cloud_stack(settings: Settings) -> CloudStack:
    """Build the providers and check every key now (`ProviderAuthError` stops start-up)."""
    clock = LoopClock()
    providers = build_cloud_providers(settings, clock)
    try:
        await providers.verify()
    except BaseException:
        await providers.aclose()
        raise
    prices = settings.prices.table()
    vad = caller_vad()
    turn_end = turn_end_detector(settings)

    def ports(repository: CallRepository, sinks: Sequence[EventSink]) -> CallPorts:
        ledger = UsageLedger()
        chains = providers.for_call(ledger)

        async def finish(call: Call) -> None:
            event = await record_usage(call, ledger, prices, repository, clock)
            for sink in sinks:
                sink(event)

        return CallPorts(
            SessionPorts(
                stt=chains.stt,
                llm=chains.llm,
                tts=chains.tts,
                vad=vad,
                repository=repository,
                clock=LoopClock(),
                canned=CannedSpeech(chains.tts),
                sinks=sinks,
                turn_end=turn_end,
                storage_retry=storage_retry(),
            ),
            finish,
        )

    return CloudStack(ports, providers.aclose, providers.board, providers.stage_providers())
