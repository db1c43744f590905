"""Deepgram streaming speech to text (listen v1) on the official `deepgram-sdk`."""

from voice_agent.adapters.deepgram.settings import DeepgramSettings
from voice_agent.adapters.deepgram.speech_to_text import DeepgramSpeechToText

__all__ = ["DeepgramSettings", "DeepgramSpeechToText"]
