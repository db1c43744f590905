"""`/health` for the stages (stt, llm, tts) of the running stack, from what is real: the cloud
stack's circuit breakers, the local stack's model worker threads.

A cloud stage runs a chain of providers (e.g. Cartesia websocket, then Cartesia HTTP). The
stage is unhealthy when every provider of its chain has an open circuit (callers hear only
the apology), degraded when one is open (a fallback answers) or half-open (a probe call is on
trial), healthy otherwise; the detail gives each provider's state, e.g. `groq: circuit open
after 5 failures, retry in 12 s`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from voice_agent.adapters.local.worker import WorkerStatus
from voice_agent.application.resilience import BreakerBoard, BreakerSnapshot, BreakerState
from voice_agent.entrypoints.bootstrap.health import ComponentHealth, Health, Probe

SLOW_JOB_S = 10.0
"""A model job running this long means the worker is stuck or the machine overloaded."""


def circuit_probes(board: BreakerBoard, stages: Mapping[str, Sequence[str]]) -> dict[str, Probe]:
    """One probe per stage, reading the breakers of its providers (created now if no call
    has used them yet, so `/metrics` lists every provider from the start)."""
    for providers in stages.values():
        for provider in providers:
            board.breaker(provider)
    return {stage: _circuit_probe(board, providers) for stage, providers in stages.items()}


def _circuit_probe(board: BreakerBoard, providers: Sequence[str]) -> Probe:
    async def probe() -> ComponentHealth:
        return chain_health([board.breaker(p).snapshot() for p in providers])

    return probe


def chain_health(snapshots: Sequence[BreakerSnapshot]) -> ComponentHealth:
    states = [s.state for s in snapshots]
    detail = "; ".join(describe_breaker(s) for s in snapshots)
    if states and all(state is BreakerState.OPEN for state in states):
        return ComponentHealth(Health.UNHEALTHY, detail)
    if any(state is not BreakerState.CLOSED for state in states):
        return ComponentHealth(Health.DEGRADED, detail)
    return ComponentHealth(Health.HEALTHY, detail)


def describe_breaker(snapshot: BreakerSnapshot) -> str:
    name = snapshot.provider
    if snapshot.state is BreakerState.OPEN:
        retry = math.ceil(snapshot.retry_in_s)
        return (
            f"{name}: circuit open after {snapshot.consecutive_failures} failures, "
            f"retry in {retry} s"
        )
    if snapshot.state is BreakerState.HALF_OPEN:
        return f"{name}: circuit half-open, the next request probes it"
    if snapshot.consecutive_failures:
        return f"{name}: circuit closed, {snapshot.consecutive_failures} failures in a row"
    return f"{name}: circuit closed"


def worker_probe(status: Callable[[], WorkerStatus]) -> Probe:
    async def probe() -> ComponentHealth:
        return worker_health(status())

    return probe


def worker_health(status: WorkerStatus) -> ComponentHealth:
    """Unhealthy when the model's thread is gone; degraded when a job has run for
    `SLOW_JOB_S` or more, or when the queue is full (callers wait for a slot)."""
    name = status.name
    if not status.alive:
        return ComponentHealth(Health.UNHEALTHY, f"{name}: worker stopped")
    queued = f"{status.waiting} waiting (queue of {status.max_queued})"
    if status.running_for_s is not None and status.running_for_s >= SLOW_JOB_S:
        return ComponentHealth(
            Health.DEGRADED, f"{name}: one job running for {status.running_for_s:.0f} s, {queued}"
        )
    if status.waiting >= status.max_queued:
        return ComponentHealth(Health.DEGRADED, f"{name}: queue full, {queued}")
    busy = "busy" if status.running_for_s is not None else "idle"
    return ComponentHealth(Health.HEALTHY, f"{name}: {busy}, {queued}")
