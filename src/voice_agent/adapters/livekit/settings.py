"""Settings of the LiveKit adapters (no imports from the package: every module uses them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LiveKitSettings:
    url: str
    """The LiveKit server, e.g. `ws://127.0.0.1:7880` (`http(s)://` works too)."""
    api_key: str
    api_secret: str
    agent_name: str = "voice-agent"
    """The name dispatch rules ask for (`room_config.agents`)."""
    status_interval_s: float = 2.5
    """How often the worker reports its load and pings the server."""
    full_at_load: float = 0.7
    """Load (0..1) from which the worker refuses new jobs, as LiveKit's own workers do."""
    server_target_load: float = 0.7
    """The server's `agents.target_load` (livekit-server's default 0.7): it offers no job to
    a worker whose reported load has reached it, whatever the worker's status. The worker
    scales the load it reports so that it reaches this only when the worker is full."""
    register_timeout_s: float = 10.0
    reconnect_max_s: float = 10.0
    """Longest wait between two attempts to reconnect to the server."""

    @property
    def http_url(self) -> str:
        """The server's HTTP address, for its Twirp API."""
        return self.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)

    def __repr__(self) -> str:
        return f"LiveKitSettings(url={self.url!r}, agent_name={self.agent_name!r})"
