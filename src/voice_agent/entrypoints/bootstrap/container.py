"""The composition root: the only place that knows which adapter implements which port.

Tests swap adapters with `container.<provider>.override(...)`, never by patching modules.
"""

from __future__ import annotations

import dataclasses

from dependency_injector import containers, providers

from voice_agent.adapters.clock import LoopClock
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.turn_taking import EndOfTurnPolicy, InterruptionPolicy
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.bootstrap.stack import choose_stack


def session_config(settings: Settings) -> SessionConfig:
    engine = settings.engine
    base = SessionConfig()
    return dataclasses.replace(
        base,
        system_prompt=settings.persona,
        prompts=dataclasses.replace(base.prompts, greeting=settings.greeting),
        end_of_turn=EndOfTurnPolicy(
            min_delay_s=engine.min_endpointing_delay_s,
            max_delay_s=engine.max_endpointing_delay_s,
        ),
        interruption=InterruptionPolicy(
            min_words=engine.min_interruption_words,
            max_unconfirmed_speech_s=engine.max_unconfirmed_speech_s,
        ),
        silence_timeout_s=engine.silence_timeout_s,
        max_call_duration_s=engine.max_call_duration_s,
        history_token_budget=engine.history_token_budget,
        transfer_destination=engine.transfer_destination,
        max_stored_events=engine.max_stored_events,
        preemptive_generation=engine.preemptive_generation,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    stack = providers.Singleton(choose_stack, settings)
    clock = providers.Singleton(LoopClock)
    session_config = providers.Singleton(session_config, settings)
    repository = providers.Singleton(InMemoryCallRepository)
