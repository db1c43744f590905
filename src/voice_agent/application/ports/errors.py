"""Errors every adapter raises instead of its SDK's own, so the engine and the resilience
decorators can react without knowing the vendor."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider could not do what was asked. `retryable` says whether trying again soon
    may work (a 429 or a dropped socket) or not (bad credentials, a malformed request)."""

    def __init__(self, provider: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.retryable = retryable


class ProviderUnavailable(ProviderError):
    """The provider is down, overloaded or unreachable."""


class ProviderTimeout(ProviderError):
    """The provider did not answer within the time allowed."""


class ProviderAuthError(ProviderError):
    """Credentials were refused. Never retryable; should surface at start-up."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(provider, message, retryable=False)
