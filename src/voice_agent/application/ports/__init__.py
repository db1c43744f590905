"""Ports: the `typing.Protocol` interfaces the application needs from the outside world.

Every adapter implements one of these; the application never imports an adapter.
"""

from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from voice_agent.application.ports.llm import (
    LanguageModel,
    LlmCapabilities,
    LlmEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageReport,
)
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallPage, CallRepository
from voice_agent.application.ports.stt import (
    FinalTranscript,
    InterimTranscript,
    SpeechStarted,
    SpeechToText,
    SpeechToTextSession,
    SttCapabilities,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.application.ports.transport import (
    CallTransport,
    DtmfPressed,
    TransportEvent,
)
from voice_agent.application.ports.tts import (
    SpanDetail,
    SynthesizedAudio,
    SynthesizedSpan,
    TextToSpeech,
    TtsCapabilities,
    TtsEvent,
)
from voice_agent.application.ports.vad import (
    VadEvent,
    VadSession,
    VoiceActivityDetector,
    VoiceEnded,
    VoiceStarted,
)

__all__ = [
    "CallPage",
    "CallRepository",
    "CallTransport",
    "Clock",
    "DtmfPressed",
    "EventSink",
    "FinalTranscript",
    "InterimTranscript",
    "LanguageModel",
    "LlmCapabilities",
    "LlmEvent",
    "ProviderAuthError",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "SpanDetail",
    "SpeechStarted",
    "SpeechToText",
    "SpeechToTextSession",
    "SttCapabilities",
    "SttEvent",
    "SynthesizedAudio",
    "SynthesizedSpan",
    "TextDelta",
    "TextToSpeech",
    "ToolCall",
    "ToolSpec",
    "TransportEvent",
    "TtsCapabilities",
    "TtsEvent",
    "UsageReport",
    "UtteranceEnded",
    "VadEvent",
    "VadSession",
    "VoiceActivityDetector",
    "VoiceEnded",
    "VoiceStarted",
]
