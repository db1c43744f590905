"""The cloud providers: Deepgram + Groq + Cartesia adapters behind the resilience decorators
(breakers per provider, retries within the budget) and, per call, the usage meters. The
only fallback is Cartesia's HTTP endpoint behind its websocket; when a whole stage fails,
the caller hears the pre-rendered apology (see docs/architecture.md)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from voice_agent.adapters.cartesia import CartesiaSettings, CartesiaTextToSpeech
from voice_agent.adapters.deepgram import DeepgramSettings, DeepgramSpeechToText
from voice_agent.adapters.groq import GroqLanguageModel, GroqSettings
from voice_agent.adapters.resilience import BackoffRetry
from voice_agent.application.metering import (
    MeteredLanguageModel,
    MeteredSpeechToText,
    MeteredTextToSpeech,
)
from voice_agent.application.ports.clock import Clock
from voice_agent.application.ports.llm import LanguageModel
from voice_agent.application.ports.stt import SpeechToText
from voice_agent.application.ports.tts import TextToSpeech
from voice_agent.application.resilience import (
    BreakerBoard,
    FallbackLanguageModel,
    FallbackSpeechToText,
    FallbackTextToSpeech,
    LatencyBudget,
    ResilientLanguageModel,
    ResilientSpeechToText,
    ResilientTextToSpeech,
    StageGuard,
)
from voice_agent.domain.usage import UsageLedger
from voice_agent.entrypoints.bootstrap.settings import Settings

PRIMARY_SHARE = 0.75
"""Of a stage's budget, what each link of a fallback chain may spend on its own."""


@dataclass(frozen=True, slots=True)
class CallProviders:
    """The three ports as one call uses them."""

    stt: SpeechToText
    llm: LanguageModel
    tts: TextToSpeech


@dataclass
class CloudProviders:
    """Built once per process; `for_call` wraps them for one call."""

    settings: Settings
    clock: Clock
    deepgram: DeepgramSpeechToText
    groq: GroqLanguageModel
    cartesia: CartesiaTextToSpeech
    cartesia_http: CartesiaTextToSpeech | None
    board: BreakerBoard

    async def verify(self) -> None:
        """Check every provider's credentials at start-up (`ProviderAuthError` on a bad
        key), so a wrong key fails the process, not the first caller."""
        await asyncio.gather(self.deepgram.verify(), self.groq.verify(), self.cartesia.verify())

    async def aclose(self) -> None:
        closers = [self.groq.aclose(), self.cartesia.aclose()]
        if self.cartesia_http is not None:
            closers.append(self.cartesia_http.aclose())
        await asyncio.gather(*closers, return_exceptions=True)

    def stage_providers(self) -> dict[str, list[str]]:
        """Each stage's providers in fallback order, by the names of their breakers (the
        chains `for_call` builds)."""
        tts = ["cartesia", *(["cartesia-http"] if self.cartesia_http is not None else [])]
        return {
            "stt": ["deepgram"],
            "llm": ["groq"],
            "tts": tts,
        }

    def for_call(self, ledger: UsageLedger) -> CallProviders:
        r = self.settings.resilience
        stt_links: list[tuple[str, SpeechToText]] = [("deepgram", self.deepgram)]
        llm_links: list[tuple[str, LanguageModel]] = [("groq", self.groq)]
        tts_links: list[tuple[str, TextToSpeech]] = [("cartesia", self.cartesia)]
        if self.cartesia_http is not None:
            tts_links.append(("cartesia-http", self.cartesia_http))
        stt_budget = LatencyBudget(r.stt_open_budget_s)
        # A link followed by others keeps part of the chain's budget for them.
        llm_budget = LatencyBudget(r.llm_budget_s * PRIMARY_SHARE, r.llm_attempt_s)
        tts_budget = LatencyBudget(r.tts_budget_s * PRIMARY_SHARE, r.tts_attempt_s)
        llms: list[LanguageModel] = [
            MeteredLanguageModel(
                ResilientLanguageModel(m, self._guard(name, llm_budget)), name, ledger
            )
            for name, m in llm_links
        ]
        return CallProviders(
            stt=FallbackSpeechToText(
                [
                    MeteredSpeechToText(
                        ResilientSpeechToText(s, self._guard(name, stt_budget)), name, ledger
                    )
                    for name, s in stt_links
                ]
            ),
            llm=FallbackLanguageModel(llms, self.clock, r.llm_budget_s),
            tts=FallbackTextToSpeech(
                [
                    MeteredTextToSpeech(
                        ResilientTextToSpeech(t, self._guard(name, tts_budget)), name, ledger
                    )
                    for name, t in tts_links
                ],
                self.clock,
                r.tts_budget_s,
            ),
        )

    def _guard(self, provider: str, budget: LatencyBudget) -> StageGuard:
        r = self.settings.resilience
        return StageGuard(
            provider,
            clock=self.clock,
            breaker=self.board.breaker(provider),
            retry=BackoffRetry(
                max_attempts=r.retry_attempts,
                initial_s=r.retry_initial_s,
                max_s=r.retry_max_s,
                jitter_s=r.retry_jitter_s,
            ),
            budget=budget,
        )


def build_cloud_providers(settings: Settings, clock: Clock) -> CloudProviders:
    deepgram_key, groq_key, cartesia_key = (
        settings.deepgram_api_key,
        settings.groq_api_key,
        settings.cartesia_api_key,
    )
    if deepgram_key is None or groq_key is None or cartesia_key is None:
        missing = ", ".join(settings.provider_keys.missing())
        raise ValueError(f"the cloud stack needs {missing}")
    c = settings.cloud
    r = settings.resilience
    cartesia = CartesiaSettings(
        api_key=cartesia_key.get_secret_value(),
        voice_id=c.cartesia_voice_id,
        base_url=c.cartesia_base_url,
        websocket_url=c.cartesia_websocket_url,
        model_id=c.cartesia_model,
        language=c.cartesia_language,
        stall_timeout_s=c.cartesia_stall_timeout_s,
    )
    return CloudProviders(
        settings=settings,
        clock=clock,
        deepgram=DeepgramSpeechToText(
            DeepgramSettings(
                api_key=deepgram_key.get_secret_value(),
                url=c.deepgram_url,
                model=c.deepgram_model,
                language=c.deepgram_language,
                endpointing_ms=c.deepgram_endpointing_ms,
            )
        ),
        groq=GroqLanguageModel(
            GroqSettings(
                api_key=groq_key.get_secret_value(),
                base_url=c.groq_base_url,
                model=c.groq_model,
                max_tokens=c.groq_max_tokens,
                read_timeout_s=r.llm_attempt_s * 3,
            )
        ),
        cartesia=CartesiaTextToSpeech(cartesia),
        cartesia_http=(
            CartesiaTextToSpeech(_http_mode(cartesia)) if c.cartesia_http_fallback else None
        ),
        board=BreakerBoard(
            clock, failure_threshold=r.breaker_failures, reset_after_s=r.breaker_reset_s
        ),
    )


def _http_mode(settings: CartesiaSettings) -> CartesiaSettings:
    return replace(settings, use_websocket=False)
