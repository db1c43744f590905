"""LiveKit API (Twirp) failures in the port's terms: SIP statuses as transfer outcomes, the
rest as provider errors. No SDK type leaves the adapter."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import aiohttp
from livekit import api

from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from voice_agent.application.ports.transport import TransferOutcome

PROVIDER = "livekit"

_OUTCOMES = {
    486: TransferOutcome.BUSY,
    600: TransferOutcome.BUSY,
    603: TransferOutcome.DECLINED,
    403: TransferOutcome.DECLINED,
    408: TransferOutcome.NO_ANSWER,
    480: TransferOutcome.NO_ANSWER,
    487: TransferOutcome.NO_ANSWER,
}


_TRANSFER_REASONS = {
    "STR_RINGING_TIMEOUT": TransferOutcome.NO_ANSWER,
    "STR_REJECTED": TransferOutcome.DECLINED,
}
"""Newer LiveKit SIP services also say why a transfer failed (meta `sip_transfer_reason`);
used when no SIP status came with it."""


def outcome_of(sip_status: int | None, transfer_reason: str | None = None) -> TransferOutcome:
    """What a final SIP status means for the caller; unknown statuses are failures."""
    if sip_status is None and transfer_reason in _TRANSFER_REASONS:
        return _TRANSFER_REASONS[transfer_reason]
    return _OUTCOMES.get(sip_status or 0, TransferOutcome.FAILED)


def sip_status_of(error: api.ServerError) -> tuple[int | None, str]:
    """The SIP status a failed dial or transfer reports (Twirp meta `sip_status_code` and
    `sip_status`, as LiveKit's `SIPStatus` error sets them), and a phrase for it."""
    raw = error.metadata.get("sip_status_code")
    try:
        code = int(raw) if raw is not None else None
    except ValueError:
        code = None
    if code is None:
        reason = error.metadata.get("sip_transfer_reason")
        return None, f"{error.code}: {error.message}" + (f" ({reason})" if reason else "")
    return code, f"SIP {code} {error.metadata.get('sip_status', '')}".rstrip()


def provider_error(error: api.ServerError) -> ProviderError:
    """A Twirp error that is not a SIP status: refused keys, missing things, server faults."""
    message = f"{error.code}: {error.message}" if error.message else error.code
    if error.code in ("unauthenticated", "permission_denied"):
        return ProviderAuthError(PROVIDER, f"the server refused the key ({message})")
    if error.status >= 500:
        return ProviderUnavailable(PROVIDER, message)
    return ProviderError(PROVIDER, message, retryable=False)


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Raise the port's errors for a call that failed without a SIP status."""
    try:
        yield
    except api.ServerError as error:
        raise provider_error(error) from None
    except TimeoutError:
        raise ProviderTimeout(PROVIDER, f"{action}: no answer from the server") from None
    except aiohttp.ClientError as error:
        raise ProviderUnavailable(
            PROVIDER, f"{action}: cannot reach the server ({type(error).__name__})"
        ) from None
