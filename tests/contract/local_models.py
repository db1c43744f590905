"""Loaded-once local models and test speech made with them, shared by the local suites."""

from __future__ import annotations

from functools import cache

from voice_agent.adapters.audio.signal import resample, trim_silence
from voice_agent.adapters.local.llama import LlamaCppLanguageModel
from voice_agent.adapters.local.piper import PiperTextToSpeech
from voice_agent.domain.audio import AudioChunk

SENTENCE = "Hello, I would like to book a table for two people tonight."


@cache
def piper() -> PiperTextToSpeech:
    return PiperTextToSpeech.load()


@cache
def smollm2() -> LlamaCppLanguageModel:
    return LlamaCppLanguageModel.load()


def spoken(text: str, rate: int = 16000) -> AudioChunk:
    """`text` spoken by Piper at `rate`, with leading and trailing silence trimmed."""
    return trim_silence(resample(piper().render_blocking(text), rate))
