"""Groq (or any OpenAI-compatible server) streaming chat completions on the `groq` SDK."""

from voice_agent.adapters.groq.language_model import GroqLanguageModel
from voice_agent.adapters.groq.settings import GroqSettings

__all__ = ["GroqLanguageModel", "GroqSettings"]
