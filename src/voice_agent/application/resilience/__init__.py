"""Resilience as decorators on the provider ports, written once for every provider:
latency budget, retries before the first output, circuit breakers, fallback chains."""

from voice_agent.application.resilience.breaker import (
    BreakerBoard,
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
)
from voice_agent.application.resilience.budget import LatencyBudget
from voice_agent.application.resilience.decorators import (
    ResilientLanguageModel,
    ResilientSpeechToText,
    ResilientTextToSpeech,
)
from voice_agent.application.resilience.fallback import (
    FallbackLanguageModel,
    FallbackSpeechToText,
    FallbackTextToSpeech,
)
from voice_agent.application.resilience.guard import StageGuard
from voice_agent.application.resilience.retry import NoRetry, RetryPolicy

__all__ = [
    "BreakerBoard",
    "BreakerSnapshot",
    "BreakerState",
    "CircuitBreaker",
    "FallbackLanguageModel",
    "FallbackSpeechToText",
    "FallbackTextToSpeech",
    "LatencyBudget",
    "NoRetry",
    "ResilientLanguageModel",
    "ResilientSpeechToText",
    "ResilientTextToSpeech",
    "RetryPolicy",
    "StageGuard",
]
