"""A telephone voice AI agent: streaming STT -> LLM -> TTS with barge-in."""

__version__ = "0.1.0"
