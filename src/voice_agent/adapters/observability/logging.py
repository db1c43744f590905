"""Structured logs (structlog): JSON in production, readable console lines in development.
Every line carries the call id and turn bound in context; secrets and phone numbers are
masked by a processor, so no code path can leak them by accident."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = re.compile(r"(api[_-]?key|token|secret|password|authorization|credential)", re.I)
# E.164 (+15550100) and North American formatting (555-010-1234); not dates or times.
PHONE = re.compile(r"(?<![\w:])\+\d{7,15}\b|\b\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
NOT_MASKED = frozenset({"timestamp", "level", "logger"})
MASK = "***"


def mask_phone(number: str) -> str:
    """Keep the last two digits: enough to tell calls apart, not to call anyone."""
    digits = re.sub(r"\D", "", number)
    return f"{MASK}{digits[-2:]}" if len(digits) >= 2 else MASK


def _mask_value(key: str, value: Any) -> Any:
    if SECRET_KEYS.search(key):
        return MASK
    if hasattr(value, "get_secret_value"):
        return MASK
    if isinstance(value, str):
        return PHONE.sub(lambda m: mask_phone(m.group()), value)
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, v) for v in value]
    return value


def mask_sensitive(
    _: object, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: secrets by key name or type, phone numbers anywhere in text."""
    for key in list(event_dict):
        if key not in NOT_MASKED:
            event_dict[key] = _mask_value(key, event_dict[key])
    return event_dict


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Route structlog and the standard library's logging through one pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_sensitive,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def bind_call(call_id: str, turn: int | None = None) -> None:
    structlog.contextvars.bind_contextvars(call_id=call_id, turn=turn)


class CallLogContext:
    """An event sink that binds `call_id` and the current `turn` into the logging context.

    Sinks run in the call's main task, and the tasks a call starts afterwards (caller line,
    replies) copy that context when they are created, so their log lines carry both too.
    """

    def __call__(self, event: object) -> None:
        call_id = getattr(event, "call_id", None)
        turn = getattr(event, "turn", None)
        if type(event).__name__ == "CallStarted" and call_id:
            bind_call(call_id)
        elif turn is not None and hasattr(turn, "index"):
            structlog.contextvars.bind_contextvars(turn=turn.index + 1)
