"""Cartesia streaming text to speech (websocket contexts, HTTP bytes fallback) on the
official `cartesia` SDK."""

from voice_agent.adapters.cartesia.settings import CartesiaSettings
from voice_agent.adapters.cartesia.text_to_speech import CartesiaTextToSpeech

__all__ = ["CartesiaSettings", "CartesiaTextToSpeech"]
