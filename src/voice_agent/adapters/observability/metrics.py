"""Prometheus metrics, fed by the domain events of every call (an `EventSink`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from voice_agent.application.resilience.breaker import BreakerSnapshot, BreakerState
from voice_agent.domain.call import CallStatus, EndReason
from voice_agent.domain.events import (
    AudioUnderrun,
    CallAnswered,
    CallEnded,
    CallerInterrupted,
    CallStarted,
    DomainEvent,
    FalseInterruptionIgnored,
    ProviderFailed,
    StoreWriteFailed,
    TurnCompleted,
    UsageRecorded,
)
from voice_agent.domain.turn import Role

LATENCY_BUCKETS_S = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0)
ANSWER_BUCKETS_S = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


_FAILURES = (EndReason.ERROR, EndReason.INTERNAL_ERROR, EndReason.CANCELLED)
_OUTCOMES = (
    *(
        (CallStatus.COMPLETED, r)
        for r in EndReason
        if r not in (*_FAILURES, EndReason.PROCESS_DIED)
    ),
    *((CallStatus.FAILED, r) for r in _FAILURES),
)
"""The outcomes a running process reports (aborted calls are found by the next start)."""

_CIRCUIT = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class PrometheusMetrics:
    """Call it with each domain event; `exposition()` renders the text format."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.active_calls = Gauge("voice_agent_active_calls", "Calls in progress.", registry=r)
        self.calls = Counter(
            "voice_agent_calls", "Finished calls by outcome.", ["status", "reason"], registry=r
        )
        for status, reason in _OUTCOMES:
            self.calls.labels(status.value, reason.value)  # exposed at 0 from the start
        self.turn_latency = Histogram(
            "voice_agent_turn_latency_seconds",
            "Agent turn latency by stage (eou, stt, llm_ttft, tts_ttfb, e2e).",
            ["stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.answer = Histogram(
            "voice_agent_answer_seconds",
            "From a line offered (LiveKit job assigned, web phone start) to the agent's first "
            "audible audio on it.",
            buckets=ANSWER_BUCKETS_S,
            registry=r,
        )
        self.answer_joined = Histogram(
            "voice_agent_answer_joined_seconds",
            "From a line offered to the agent on it (LiveKit: room joined, caller audio there).",
            buckets=ANSWER_BUCKETS_S,
            registry=r,
        )
        self.provider_errors = Counter(
            "voice_agent_provider_errors",
            "Provider failures the caller heard an apology for, by stage and provider.",
            ["stage", "provider"],
            registry=r,
        )
        self.interruptions = Counter(
            "voice_agent_interruptions", "Barge-ins by the caller.", registry=r
        )
        self.false_interruptions = Counter(
            "voice_agent_false_interruptions",
            "Caller noise over the agent that was not an interruption.",
            registry=r,
        )
        self.underruns = Counter(
            "voice_agent_audio_underruns", "Playout queue ran dry mid-reply.", registry=r
        )
        self.llm_tokens = Counter(
            "voice_agent_llm_tokens", "LLM tokens used.", ["provider", "kind"], registry=r
        )
        self.stt_seconds = Counter(
            "voice_agent_stt_audio_seconds",
            "Audio sent to speech recognition.",
            ["provider"],
            registry=r,
        )
        self.tts_characters = Counter(
            "voice_agent_tts_characters",
            "Characters sent to speech synthesis.",
            ["provider"],
            registry=r,
        )
        self.store_errors = Counter(
            "voice_agent_store_errors",
            "Failed writes to the call store (retried or given up), by operation.",
            ["operation"],
            registry=r,
        )
        for operation in ("save_call", "save_turn", "record_event"):
            self.store_errors.labels(operation)
        self.cost_usd = Counter(
            "voice_agent_cost_usd",
            "Estimated provider cost of finished calls (USD, from the configured prices).",
            registry=r,
        )
        self.circuit_state = Gauge(
            "voice_agent_provider_circuit_state",
            "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
            ["provider"],
            registry=r,
        )
        self._breakers: Callable[[], Iterable[BreakerSnapshot]] | None = None

    def watch_breakers(self, snapshots: Callable[[], Iterable[BreakerSnapshot]]) -> None:
        """Read the running process's breakers at every `exposition()`."""
        self._breakers = snapshots

    def observe_breakers(self, snapshots: Iterable[BreakerSnapshot]) -> None:
        """Copy the breakers' states (call before rendering `/metrics`)."""
        for snapshot in snapshots:
            self.circuit_state.labels(snapshot.provider).set(_CIRCUIT[snapshot.state])

    def __call__(self, event: DomainEvent) -> None:
        match event:
            case CallStarted():
                self.active_calls.inc()
            case CallEnded():
                self.active_calls.dec()
                self.calls.labels(event.status.value, event.reason.value).inc()
            case TurnCompleted() if event.turn.role is Role.AGENT:
                for stage, ms in event.turn.latency.as_dict().items():
                    if ms is not None:
                        self.turn_latency.labels(stage).observe(ms / 1000)
            case CallAnswered():
                self.answer_joined.observe(event.answer.joined_ms / 1000)
                if event.answer.first_audio_ms is not None:
                    self.answer.observe(event.answer.first_audio_ms / 1000)
            case CallerInterrupted():
                self.interruptions.inc()
            case FalseInterruptionIgnored():
                self.false_interruptions.inc()
            case ProviderFailed():
                self.provider_errors.labels(event.stage, event.provider).inc()
            case AudioUnderrun():
                self.underruns.inc()
            case StoreWriteFailed():
                self.store_errors.labels(event.operation).inc()
            case UsageRecorded():
                self._usage(event)
            case _:
                pass

    def _usage(self, event: UsageRecorded) -> None:
        for item in event.usage:
            provider = item.provider
            self.llm_tokens.labels(provider, "prompt").inc(item.llm_prompt_tokens)
            self.llm_tokens.labels(provider, "completion").inc(item.llm_completion_tokens)
            self.stt_seconds.labels(provider).inc(item.stt_audio_seconds)
            self.tts_characters.labels(provider).inc(item.tts_characters)
        self.cost_usd.inc(event.cost_usd)

    def exposition(self) -> bytes:
        if self._breakers is not None:
            self.observe_breakers(self._breakers())
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "CallStatus", "PrometheusMetrics"]
