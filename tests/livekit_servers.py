"""The real LiveKit server on loopback: it lives in `fake_servers.livekit_server` so that the
benchmarks can start it too; the tests import it from here."""

from fake_servers.livekit_server import (
    SERVER_CONFIG,
    LiveKitServers,
    LiveKitUnavailable,
    free_port,
    free_udp_and_tcp_port,
    livekit_server_binary,
    livekit_sip_binary,
    redis_server_binary,
    server_config,
)

__all__ = [
    "SERVER_CONFIG",
    "LiveKitServers",
    "LiveKitUnavailable",
    "free_port",
    "free_udp_and_tcp_port",
    "livekit_server_binary",
    "livekit_sip_binary",
    "redis_server_binary",
    "server_config",
]
