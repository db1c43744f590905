"""LiveKit: the agent dispatch protocol (a worker that takes calls from the server). The SDKs
(`livekit-api`, `livekit-protocol`) are imported only in this package."""

from voice_agent.adapters.livekit.dispatch import AgentWorker, AssignedJob
from voice_agent.adapters.livekit.settings import LiveKitSettings

__all__ = ["AgentWorker", "AssignedJob", "LiveKitSettings"]
