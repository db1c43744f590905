"""Where domain events go: metrics, logs, live transcripts."""

from __future__ import annotations

from collections.abc import Callable

from voice_agent.domain.events import DomainEvent

EventSink = Callable[[DomainEvent], None]
"""Called with every domain event of a call. Must not block or raise: it runs inside the
call's event loop (the session logs and swallows what a sink raises)."""
