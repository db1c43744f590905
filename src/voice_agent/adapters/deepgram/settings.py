"""Deepgram connection and recognition settings: no package imports, so every module of the
adapter can import them without a cycle."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeepgramSettings:
    api_key: str
    url: str = "wss://api.deepgram.com"
    """The websocket base; point it at a local server in tests (no env var does this)."""
    model: str = "nova-3"
    language: str = "en-US"
    sample_rate: int = 16000
    endpointing_ms: int = 300
    utterance_end_ms: int = 1000
    keepalive_interval_s: float = 4.0
    """Deepgram closes a socket after 10 s without audio or KeepAlive (NET-0001)."""
    connect_timeout_s: float = 3.0
    max_reconnects: int = 3
    """Per dropped socket; the session fails with `ProviderUnavailable` after that."""

    def __repr__(self) -> str:
        return f"DeepgramSettings(url={self.url!r}, model={self.model!r}, api_key=***)"
