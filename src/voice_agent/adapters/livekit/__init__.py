"""LiveKit: the agent dispatch protocol (a worker that takes calls from the server), a call
as a room (`LiveKitCallTransport`), and the server API for call control and SIP provisioning
(`LiveKitControl`). The SDKs (`livekit`, `livekit-api`, `livekit-protocol`)
are imported only in this package."""

from voice_agent.adapters.livekit.control import DialFailed, Dialled, LiveKitControl
from voice_agent.adapters.livekit.dispatch import AgentWorker, AssignedJob
from voice_agent.adapters.livekit.provisioning import (
    Change,
    InboundSetup,
    Provisioned,
    RuleView,
    SipStatus,
    TrunkView,
)
from voice_agent.adapters.livekit.room import CallRoom
from voice_agent.adapters.livekit.settings import LiveKitSettings
from voice_agent.adapters.livekit.transport import LiveKitCallTransport

__all__ = [
    "AgentWorker",
    "AssignedJob",
    "CallRoom",
    "Change",
    "DialFailed",
    "Dialled",
    "InboundSetup",
    "LiveKitCallTransport",
    "LiveKitControl",
    "LiveKitSettings",
    "Provisioned",
    "RuleView",
    "SipStatus",
    "TrunkView",
]
