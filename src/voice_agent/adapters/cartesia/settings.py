"""Cartesia synthesis settings: no package imports, so every module of the adapter can
import them without a cycle."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CartesiaSettings:
    api_key: str
    voice_id: str = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"
    base_url: str = "https://api.cartesia.ai"
    websocket_url: str | None = None
    """Defaults to `base_url` with the wss scheme; set it for a local ws:// server."""
    model_id: str = "sonic-3"
    language: str = "en"
    fallback_rate: int = 24000
    """Rate asked of Cartesia when the caller's rate is not one it produces (then resampled)."""
    connect_timeout_s: float = 3.0
    http_timeout_s: float = 6.0
    stall_timeout_s: float = 2.5
    """A websocket reply owing audio (text sent since its last chunk, or all text sent and
    no `done` yet) that gets no chunk for this long fails with `ProviderTimeout`."""
    use_websocket: bool = True

    def __repr__(self) -> str:
        return (
            f"CartesiaSettings(base_url={self.base_url!r}, voice_id={self.voice_id!r}, api_key=***)"
        )
