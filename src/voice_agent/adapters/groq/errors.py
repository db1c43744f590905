"""groq SDK exceptions mapped to the port's `ProviderError`s (no request details: they may
hold the prompt, and the API key never appears in them but we do not rely on that)."""

from __future__ import annotations

import json

import groq

from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)

PROVIDER = "groq"


def provider_error(exc: BaseException) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, groq.AuthenticationError | groq.PermissionDeniedError):
        return ProviderAuthError(PROVIDER, f"credentials refused (HTTP {exc.status_code})")
    if isinstance(exc, groq.RateLimitError):
        return ProviderUnavailable(PROVIDER, "rate limited (HTTP 429)")
    if isinstance(exc, groq.InternalServerError):
        return ProviderUnavailable(PROVIDER, f"server error (HTTP {exc.status_code})")
    if isinstance(exc, groq.APIStatusError):
        return ProviderError(PROVIDER, f"request refused (HTTP {exc.status_code})", retryable=False)
    if isinstance(exc, groq.APITimeoutError):
        return ProviderTimeout(PROVIDER, "no answer in time")
    if isinstance(exc, groq.APIConnectionError):
        return ProviderUnavailable(PROVIDER, "connection failed")
    if isinstance(exc, groq.APIError):
        return ProviderError(PROVIDER, "error in the middle of the stream")
    if isinstance(exc, json.JSONDecodeError):
        return ProviderError(PROVIDER, "malformed chunk in the stream")
    return ProviderError(PROVIDER, f"unexpected failure ({type(exc).__name__})")
