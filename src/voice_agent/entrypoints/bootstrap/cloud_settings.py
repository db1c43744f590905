"""Settings of the cloud stack (Deepgram, Groq, Cartesia): endpoints, models, the
resilience knobs and the prices used for cost estimates. Environment variables use the
group prefix, e.g. `CLOUD__GROQ_BASE_URL`, `RESILIENCE__LLM_BUDGET_S`,
`PRICES__GROQ__LLM_PROMPT_PER_MILLION_TOKENS`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from voice_agent.domain.usage import Prices


class CloudSettings(BaseModel):
    deepgram_url: str = "wss://api.deepgram.com"
    deepgram_model: str = "nova-3"
    deepgram_language: str = "en-US"
    deepgram_endpointing_ms: int = Field(300, ge=10, le=5000)
    groq_base_url: str = "https://api.groq.com"
    """Any OpenAI-compatible server that serves `/openai/v1/chat/completions`."""
    groq_model: str = "llama-3.3-70b-versatile"
    groq_max_tokens: int = Field(250, ge=16, le=4096)
    cartesia_base_url: str = "https://api.cartesia.ai"
    cartesia_websocket_url: str | None = None
    cartesia_model: str = "sonic-3"
    cartesia_voice_id: str = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"
    cartesia_language: str = "en"
    cartesia_http_fallback: bool = True
    """Fall back to Cartesia's HTTP bytes endpoint when its websocket fails."""
    cartesia_stall_timeout_s: float = Field(2.5, gt=0, le=30)
    """A websocket reply owing audio that gets none for this long fails (then the apology
    plays) instead of leaving the caller in silence."""


class ResilienceSettings(BaseModel):
    llm_budget_s: float = Field(2.0, gt=0, le=30)
    """Longest wait for the reply's first token, retries and fallbacks included."""
    llm_attempt_s: float = Field(1.2, gt=0, le=30)
    tts_budget_s: float = Field(1.5, gt=0, le=30)
    tts_attempt_s: float = Field(1.0, gt=0, le=30)
    stt_open_budget_s: float = Field(3.0, gt=0, le=30)
    retry_attempts: int = Field(3, ge=1, le=10)
    retry_initial_s: float = Field(0.1, ge=0, le=5)
    retry_max_s: float = Field(1.0, ge=0, le=30)
    retry_jitter_s: float = Field(0.1, ge=0, le=5)
    breaker_failures: int = Field(5, ge=1, le=100)
    breaker_reset_s: float = Field(30.0, gt=0, le=3600)


class PriceSettings(BaseModel):
    llm_prompt_per_million_tokens: float = Field(0.0, ge=0)
    llm_completion_per_million_tokens: float = Field(0.0, ge=0)
    stt_per_minute: float = Field(0.0, ge=0)
    tts_per_thousand_characters: float = Field(0.0, ge=0)

    def to_prices(self) -> Prices:
        return Prices(**self.model_dump())


class DeepgramPrices(PriceSettings):
    stt_per_minute: float = Field(0.0077, ge=0)


class GroqPrices(PriceSettings):
    llm_prompt_per_million_tokens: float = Field(0.59, ge=0)
    llm_completion_per_million_tokens: float = Field(0.79, ge=0)


class CartesiaPrices(PriceSettings):
    tts_per_thousand_characters: float = Field(0.03, ge=0)


class ProviderPrices(BaseModel):
    """List prices at the time of writing (USD); override any one in the environment."""

    deepgram: DeepgramPrices = DeepgramPrices()
    groq: GroqPrices = GroqPrices()
    cartesia: CartesiaPrices = CartesiaPrices()

    def table(self) -> dict[str, Prices]:
        """Prices per provider name as the adapters report usage (local models are free)."""
        cartesia = self.cartesia.to_prices()
        return {
            "deepgram": self.deepgram.to_prices(),
            "groq": self.groq.to_prices(),
            "cartesia": cartesia,
            "cartesia-http": cartesia,
        }
