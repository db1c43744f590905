"""Where domain events go: metrics, logs, live transcripts."""

from __future__ import annotations

from typing import Protocol

from voice_agent.domain.events import DomainEvent


class EventSink(Protocol):
    def __call__(self, event: DomainEvent) -> None:
        """Must not block or raise: it runs inside the call's event loop."""
        ...
