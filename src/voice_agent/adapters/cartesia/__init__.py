"""Cartesia streaming text to speech (websocket contexts, HTTP bytes fallback) on the
official `cartesia` SDK."""

from voice_agent.adapters.cartesia.text_to_speech import CartesiaSettings, CartesiaTextToSpeech

__all__ = ["CartesiaSettings", "CartesiaTextToSpeech"]
