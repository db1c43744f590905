"""LiveKit: the agent dispatch protocol (a worker that takes calls from the server) and a call
as a room (`LiveKitCallTransport`). The SDKs (`livekit`, `livekit-api`, `livekit-protocol`)
are imported only in this package."""

from voice_agent.adapters.livekit.dispatch import AgentWorker, AssignedJob, RoomService
from voice_agent.adapters.livekit.settings import LiveKitSettings
from voice_agent.adapters.livekit.transport import LiveKitCallTransport

__all__ = [
    "AgentWorker",
    "AssignedJob",
    "LiveKitCallTransport",
    "LiveKitSettings",
    "RoomService",
]
