"""The cloud stack (Deepgram, Groq, Cartesia): providers built and their keys checked once
at start-up; each call gets its own metered resilience chains (its usage and cost are stored
when it ends); canned lines are rendered once per process, not once per call."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from voice_agent.adapters.clock import LoopClock
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.ports.vad import VoiceActivityDetector
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.usage import UsageLedger
from voice_agent.entrypoints.bootstrap.cloud import CloudProviders, build_cloud_providers
from voice_agent.entrypoints.bootstrap.settings import Settings, StackName
from voice_agent.entrypoints.bootstrap.stack_health import circuit_probes
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech, Stack

log = logging.getLogger(__name__)


def caller_vad() -> VoiceActivityDetector:
    """Silero when the local extra is installed (better barge-in on noisy lines), else the
    energy detector."""
    try:
        from voice_agent.adapters.local.silero import SileroVoiceActivityDetector
    except ImportError:
        from voice_agent.adapters.audio.energy_vad import EnergyVoiceActivityDetector

        return EnergyVoiceActivityDetector()
    return SileroVoiceActivityDetector()


async def cloud_stack(
    settings: Settings, config: SessionConfig, turn_end: TurnEndDetector, sample_rate: int
) -> AsyncIterator[Stack]:
    """The container's `cloud` stack. Every key is checked now (`ProviderAuthError` stops
    start-up). The apology and the greeting are rendered now, through the process's own
    chain (not billed to a call): every call then plays the greeting the moment it is
    answered, without waiting for Cartesia. If synthesis is down at start-up, the first call
    that needs the apology renders it, and calls synthesize their greeting as they go."""
    providers = build_cloud_providers(settings, LoopClock())
    try:
        await providers.verify()
        canned = CannedSpeech(providers.for_call(UsageLedger()).tts)
        for name, line in (
            ("apology", config.prompts.apology),
            ("greeting", config.prompts.greeting),
        ):
            if await canned.prepare(line, sample_rate) is None:
                log.warning("could not render the %s at start-up", name)
        yield Stack(
            StackName.CLOUD,
            config,
            lambda: _speech(providers),
            caller_vad(),
            canned,
            turn_end,
            prices=settings.prices.table(),
            probes=circuit_probes(providers.board, providers.stage_providers()),
            breakers=providers.board.snapshot,
        )
    finally:
        await providers.aclose()


def _speech(providers: CloudProviders) -> CallSpeech:
    ledger = UsageLedger()
    chains = providers.for_call(ledger)
    return CallSpeech(chains.stt, chains.llm, chains.tts, ledger)
