"""The composition root: the one place that chooses which adapter implements which port.

- `stack` selects, by `stack_choice` (STACK, or which provider keys are set), one of the
  `fake`, `local` and `cloud` resources; only the selected one is loaded (models loaded and
  warmed, keys verified) and it is closed by `shutdown_resources()`.
- `call_store` opens the database (schema check, call ownership, crash recovery) and closes
  it at shutdown.
- `runner` is the process's `CallRunner`: every call, whatever its line, runs through it,
  with its ports from `call_ports` (built per call from the stack and the store).

Resources are asynchronous, so their dependants are awaited:
`await resolved(container.runner())`.
Tests swap a part with `container.<provider>.override(...)`, never by patching modules.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TypeVar

from dependency_injector import containers, providers

from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.sqlalchemy import Database
from voice_agent.adapters.web.transport import SAMPLE_RATE
from voice_agent.application.call_runner import CallPorts, CallRunner
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.turn_taking import EndOfTurnPolicy, InterruptionPolicy
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.bootstrap.stack import StackChoice, choose_stack
from voice_agent.entrypoints.bootstrap.stacks import Stack, call_ports
from voice_agent.entrypoints.bootstrap.store import open_call_store
from voice_agent.entrypoints.bootstrap.turn_end import turn_end_detector

T = TypeVar("T")


async def resolved(value: T | Awaitable[T]) -> T:
    """A provider's value: providers that depend on an asynchronous resource return an
    awaitable (even once it is initialized), the others the value itself."""
    if inspect.isawaitable(value):
        return await value
    return value


async def shut_down(container: containers.Container) -> None:
    """Close the resources that were opened (the stack, the store), if any:
    `shutdown_resources` returns an awaitable only when an asynchronous one was."""
    closing = container.shutdown_resources()
    if closing is not None:
        await closing


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
            preface_words=engine.barge_in_preface_words,
        ),
        silence_timeout_s=engine.silence_timeout_s,
        max_call_duration_s=engine.max_call_duration_s,
        history_token_budget=engine.history_token_budget,
        transfer_destination=engine.transfer_destination,
        max_stored_events=engine.max_stored_events,
        preemptive_generation=engine.preemptive_generation,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class CallStore:
    repository: CallRepository
    database: Database | None = None
    """None for the in-memory store."""


async def database_store(settings: Settings) -> AsyncIterator[CallStore]:
    database, repository = await open_call_store(settings.database_url)
    try:
        yield CallStore(repository, database)
    finally:
        await database.dispose()


async def memory_store() -> AsyncIterator[CallStore]:
    yield CallStore(InMemoryCallRepository())


# The stacks are imported when selected: the local one needs the model libraries, the cloud
# one the provider SDKs, and a process loads only what it runs.
async def _fake_stack(config: SessionConfig) -> AsyncIterator[Stack]:
    from voice_agent.entrypoints.bootstrap.fake_stack import fake_stack

    async for stack in fake_stack(config):
        yield stack


async def _local_stack(
    config: SessionConfig, turn_end: TurnEndDetector, sample_rate: int
) -> AsyncIterator[Stack]:
    from voice_agent.entrypoints.bootstrap.local_stack import local_stack

    async for stack in local_stack(config, turn_end, sample_rate):
        yield stack


async def _cloud_stack(
    settings: Settings, config: SessionConfig, turn_end: TurnEndDetector, sample_rate: int
) -> AsyncIterator[Stack]:
    from voice_agent.entrypoints.bootstrap.cloud_stack import cloud_stack

    async for stack in cloud_stack(settings, config, turn_end, sample_rate):
        yield stack


def _stack_name(choice: StackChoice) -> str:
    return choice.name.value


def _runner(stack: Stack, store: CallStore, settings: Settings, max_calls: int) -> CallRunner:
    async def ports(sinks: Sequence[EventSink]) -> CallPorts:
        return call_ports(stack, store.repository, sinks)

    return CallRunner(
        ports,
        stack.config,
        max_calls=max_calls,
        max_answering=settings.web_phone.max_pending_starts,
    )


def _web_phone_max_calls(settings: Settings) -> int:
    return settings.web_phone_max_calls


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    stack_choice = providers.Singleton(choose_stack, settings)
    session_config = providers.Singleton(session_config, settings)
    turn_end = providers.Singleton(turn_end_detector, settings, stack_choice)
    sample_rate = providers.Object(SAMPLE_RATE)
    """The rate calls' audio is played at (the web phone's), for pre-rendered lines."""

    call_store = providers.Resource(database_store, settings)
    stack = providers.Selector(
        providers.Callable(_stack_name, stack_choice),
        fake=providers.Resource(_fake_stack, session_config),
        local=providers.Resource(_local_stack, session_config, turn_end, sample_rate),
        cloud=providers.Resource(_cloud_stack, settings, session_config, turn_end, sample_rate),
    )
    max_calls = providers.Callable(_web_phone_max_calls, settings)
    """Calls the runner takes at once (the worker overrides it with `WORKER_MAX_CALLS`)."""
    runner = providers.Singleton(_runner, stack, call_store, settings, max_calls)
