"""cartesia SDK / websocket failures mapped to the port's `ProviderError`s."""

from __future__ import annotations

import asyncio

import cartesia
from websockets.exceptions import ConnectionClosed, InvalidStatus

from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)

PROVIDER = "cartesia"


def from_status(status: int, what: str) -> ProviderError:
    if status in (401, 403):
        return ProviderAuthError(PROVIDER, f"credentials refused (HTTP {status})")
    if status == 429 or status >= 500:
        return ProviderUnavailable(PROVIDER, f"{what} (status {status})")
    return ProviderError(PROVIDER, f"{what} (status {status})", retryable=False)


def provider_error(exc: BaseException) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, InvalidStatus):
        return from_status(exc.response.status_code, "websocket refused")
    if isinstance(exc, cartesia.APIStatusError):
        return from_status(exc.status_code, "request refused")
    if isinstance(exc, cartesia.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return ProviderTimeout(PROVIDER, "no answer in time")
    if isinstance(exc, cartesia.APIConnectionError | ConnectionClosed | OSError):
        return ProviderUnavailable(PROVIDER, f"connection failed ({type(exc).__name__})")
    return ProviderError(PROVIDER, f"unexpected failure ({type(exc).__name__})")
