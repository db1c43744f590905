"""Provider usage of a call (LLM tokens, STT audio seconds, TTS characters) and its cost
estimate from configured prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class ProviderUsage:
    provider: str
    llm_prompt_tokens: int = 0
    llm_completion_tokens: int = 0
    stt_audio_seconds: float = 0.0
    tts_characters: int = 0

    def __add__(self, other: ProviderUsage) -> ProviderUsage:
        if other.provider != self.provider:
            raise ValueError(f"cannot add usage of {other.provider!r} to {self.provider!r}")
        return replace(
            self,
            llm_prompt_tokens=self.llm_prompt_tokens + other.llm_prompt_tokens,
            llm_completion_tokens=self.llm_completion_tokens + other.llm_completion_tokens,
            stt_audio_seconds=self.stt_audio_seconds + other.stt_audio_seconds,
            tts_characters=self.tts_characters + other.tts_characters,
        )


@dataclass(frozen=True, slots=True)
class Prices:
    """A provider's list prices in USD (zero for what it does not sell)."""

    llm_prompt_per_million_tokens: float = 0.0
    llm_completion_per_million_tokens: float = 0.0
    stt_per_minute: float = 0.0
    tts_per_thousand_characters: float = 0.0

    def cost(self, usage: ProviderUsage) -> float:
        return (
            usage.llm_prompt_tokens * self.llm_prompt_per_million_tokens / 1e6
            + usage.llm_completion_tokens * self.llm_completion_per_million_tokens / 1e6
            + usage.stt_audio_seconds / 60 * self.stt_per_minute
            + usage.tts_characters / 1000 * self.tts_per_thousand_characters
        )


class UsageLedger:
    """One call's usage, per provider. Providers without prices cost nothing (local ones)."""

    def __init__(self) -> None:
        self._usage: dict[str, ProviderUsage] = {}

    def add(self, usage: ProviderUsage) -> None:
        current = self._usage.get(usage.provider)
        self._usage[usage.provider] = usage if current is None else current + usage

    def add_llm(self, provider: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.add(ProviderUsage(provider, prompt_tokens, completion_tokens))

    def add_stt(self, provider: str, seconds: float) -> None:
        self.add(ProviderUsage(provider, stt_audio_seconds=seconds))

    def add_tts(self, provider: str, characters: int) -> None:
        self.add(ProviderUsage(provider, tts_characters=characters))

    def by_provider(self) -> tuple[ProviderUsage, ...]:
        return tuple(self._usage[name] for name in sorted(self._usage))

    def cost(self, prices: Mapping[str, Prices]) -> float:
        return sum(prices[u.provider].cost(u) for u in self._usage.values() if u.provider in prices)
