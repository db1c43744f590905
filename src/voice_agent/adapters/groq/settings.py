"""Groq request settings: no package imports, so every module of the adapter can import
them without a cycle."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GroqSettings:
    api_key: str
    base_url: str = "https://api.groq.com"
    """Host root; any OpenAI-compatible server whose API lives under `/openai/v1` works."""
    model: str = "llama-3.3-70b-versatile"
    temperature: float = 0.6
    max_tokens: int = 250
    connect_timeout_s: float = 1.5
    read_timeout_s: float = 4.0
    """Longest silence allowed between two bytes of the stream (the first one included)."""
    tool_calls: bool = True

    def __repr__(self) -> str:
        return f"GroqSettings(base_url={self.base_url!r}, model={self.model!r}, api_key=***)"
