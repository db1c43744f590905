"""Implementations of the resilience ports that need third-party libraries."""

from voice_agent.adapters.resilience.backoff import BackoffRetry

__all__ = ["BackoffRetry"]
