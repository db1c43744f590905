"""Deepgram SDK and socket failures mapped to the port's `ProviderError`s. Messages carry
status codes only: the SDK's `ApiError` holds the request headers, API key included."""

from __future__ import annotations

import asyncio

from deepgram.core.api_error import ApiError

from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)

PROVIDER = "deepgram"


def provider_error(exc: BaseException) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ApiError):
        status = exc.status_code or 0
        if status in (401, 403):
            return ProviderAuthError(PROVIDER, f"credentials refused (HTTP {status})")
        if status == 429 or status >= 500:
            return ProviderUnavailable(PROVIDER, f"service unavailable (HTTP {status})")
        return ProviderError(PROVIDER, f"request refused (HTTP {status})", retryable=False)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return ProviderTimeout(PROVIDER, "no answer in time")
    return ProviderUnavailable(PROVIDER, f"connection failed ({type(exc).__name__})")
