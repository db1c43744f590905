"""Structured logs (structlog): JSON in production, readable console lines in development.
Every line carries the call id and turn bound in context; secrets and phone numbers are
masked by a processor, so no code path can leak them by accident."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from voice_agent.adapters.observability.masking import mask_phone, mask_value

NOT_MASKED = frozenset({"timestamp", "level", "logger"})


def mask_sensitive(
    _: object, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: secrets by key name, type or shape, phone numbers anywhere (see
    `masking`). Runs after %-arguments are merged and exceptions rendered to text."""
    for key in list(event_dict):
        if key not in NOT_MASKED and not key.startswith("_"):
            event_dict[key] = mask_value(key, event_dict[key])
    return event_dict


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Route structlog and the standard library's logging through one pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
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


__all__ = ["CallLogContext", "bind_call", "configure_logging", "mask_phone", "mask_sensitive"]
