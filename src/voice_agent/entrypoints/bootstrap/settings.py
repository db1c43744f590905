"""Settings from the environment and `.env`, validated by pydantic-settings.

Each group reads variables with its own prefix (e.g. `ENGINE__SILENCE_TIMEOUT_S`, or the flat
provider names like `DEEPGRAM_API_KEY`). Add a group per concern; keep secrets as `SecretStr`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, FilePath, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from voice_agent.entrypoints.bootstrap.cloud_settings import (
    CloudSettings,
    ProviderPrices,
    ResilienceSettings,
)

DEFAULT_PERSONA = Path(__file__).parent / "personas" / "receptionist.txt"
DEFAULT_GREETING = "Thank you for calling Maple Street Dental, this is Sam. How can I help you?"


class StackName(StrEnum):
    FAKE = "fake"
    """Scripted fakes: tests and `voice-agent call --script`."""
    LOCAL = "local"
    """Embedded local models: the default with no provider keys."""
    CLOUD = "cloud"
    """Deepgram + Groq + Cartesia (+ LiveKit telephony)."""


class EndOfTurnName(StrEnum):
    AUTO = "auto"
    """`combined` on the local stack when the Smart Turn model is installed, else `text`."""
    TEXT = "text"
    """Rules on the recognizer's punctuated words (microseconds per decision)."""
    MODEL = "model"
    """Smart Turn v3.2 on the caller's last 8 s of audio (about 45 ms per decision)."""
    COMBINED = "combined"
    """The text rules where the words are clear, the audio model where they are not."""


class EngineSettings(BaseModel):
    """Turn-taking and call-limit knobs (see docs/architecture.md for their meaning)."""

    min_endpointing_delay_s: float = Field(0.35, ge=0.0, le=5.0)
    max_endpointing_delay_s: float = Field(2.0, ge=0.1, le=10.0)
    end_of_turn: EndOfTurnName = EndOfTurnName.AUTO
    """Who judges whether the caller finished (then the min delay) or not (the max)."""
    preemptive_generation: bool = True
    """Start the model on the final transcript while the end-of-turn delay runs (the reply
    is spoken only once the turn is taken, and dropped unsaid if the caller goes on)."""
    min_interruption_words: int = Field(1, ge=1, le=10)
    barge_in_preface_words: int = Field(2, ge=0, le=10)
    """A barge-in of at most this many words waits the long end-of-turn delay for more:
    "Sorry," / "Wait," then the question (0: judged like any turn)."""
    max_unconfirmed_speech_s: float = Field(2.0, ge=0.2, le=10.0)
    silence_timeout_s: float = Field(8.0, ge=1.0, le=120.0)
    max_call_duration_s: float = Field(1800.0, ge=10.0, le=86400.0)
    history_token_budget: int = Field(2000, ge=100, le=200000)
    transfer_destination: str | None = None
    max_stored_events: int = Field(500, ge=10, le=100000)
    """Events (key presses, interruptions, failures...) stored per call; later ones are
    counted and dropped."""


class WebPhoneSettings(BaseModel):
    """What one web phone connection may do (`WEB_PHONE__...`); see the README's web phone
    section for the error each limit answers with."""

    max_pending_starts: int = Field(8, ge=1, le=10000)
    """Connections that have not sent `start` yet; the next one is told `busy`."""
    start_timeout_s: float = Field(5.0, gt=0.0, le=120.0)
    max_control_bytes: int = Field(4096, ge=256, le=1_000_000)
    max_protocol_errors: int = Field(10, ge=1, le=10000)
    realtime_factor: float = Field(1.2, ge=1.0, le=10.0)
    audio_burst_s: float = Field(2.0, ge=0.1, le=60.0)
    max_dropped_audio_s: float = Field(5.0, ge=0.0, le=600.0)
    dtmf_per_second: float = Field(5.0, gt=0.0, le=100.0)
    dtmf_burst: int = Field(10, ge=1, le=1000)
    outgoing_frames: int = Field(500, ge=10, le=100000)


E164 = re.compile(r"\+[1-9]\d{6,14}")
"""A phone number in E.164: `+`, the country code, at most 15 digits in all."""


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class SipSettings(BaseModel):
    """LiveKit SIP (`SIP__...`): what `voice-agent sip setup` provisions, and the trunk
    `voice-agent dial` calls out through (README, "Connect a phone number")."""

    inbound_numbers: str = ""
    """Comma-separated E.164 numbers the inbound trunk answers (`+74951234567,+7...`)."""
    allowed_addresses: str = ""
    """Comma-separated addresses or CIDR ranges the carrier's INVITEs may come from."""
    auth_username: str | None = None
    auth_password: SecretStr | None = None
    """Digest credentials the carrier must present (both, or neither)."""
    room_prefix: str = Field("call-", min_length=1, max_length=64)
    """Each inbound call gets a new room named with this prefix (the individual rule)."""
    trunk_name: str = Field("voice-agent-inbound", min_length=1)
    dispatch_rule_name: str = Field("voice-agent-dispatch", min_length=1)
    """`sip setup` finds the trunk and the rule it manages by these names."""
    outbound_trunk_id: str | None = None
    """The outbound trunk (`ST_...`) `voice-agent dial` calls through."""
    ringing_timeout_s: float = Field(30.0, ge=1.0, le=300.0)
    """How long `voice-agent dial` lets the callee's phone ring."""
    transfer_ringing_timeout_s: float = Field(30.0, ge=1.0, le=300.0)
    """How long a transfer lets the destination ring before the caller is told no answer."""
    transfer_play_dialtone: bool = False

    @field_validator("inbound_numbers")
    @classmethod
    def _numbers_are_e164(cls, value: str) -> str:
        wrong = [n for n in _comma_list(value) if not E164.fullmatch(n)]
        if wrong:
            raise ValueError(
                f"{len(wrong)} of the numbers are not E.164 (+ and 7 to 15 digits, no spaces)"
            )
        return value

    @property
    def numbers(self) -> tuple[str, ...]:
        return _comma_list(self.inbound_numbers)

    @property
    def addresses(self) -> tuple[str, ...]:
        return _comma_list(self.allowed_addresses)


class ProviderKeys(BaseModel):
    """API keys of the cloud providers; all three select the cloud stack."""

    deepgram_api_key: SecretStr | None = None
    groq_api_key: SecretStr | None = None
    cartesia_api_key: SecretStr | None = None

    def missing(self) -> list[str]:
        return [name.upper() for name, value in self if value is None]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    stack: StackName | None = None
    """Force a stack; by default the cloud stack when its keys are set, else local."""
    engine: EngineSettings = EngineSettings()
    web_phone: WebPhoneSettings = WebPhoneSettings()
    sip: SipSettings = SipSettings()
    cloud: CloudSettings = CloudSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    prices: ProviderPrices = ProviderPrices()
    deepgram_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DEEPGRAM_API_KEY", "deepgram_api_key")
    )
    groq_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("GROQ_API_KEY", "groq_api_key")
    )
    cartesia_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("CARTESIA_API_KEY", "cartesia_api_key")
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///data/voice_agent.db",
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
    )
    """SQLAlchemy URL with an async driver; PostgreSQL: postgresql+asyncpg://user@host/db."""
    api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("API_KEY", "api_key"))
    """Bearer token protecting `/calls`; those endpoints answer 401 while it is unset."""
    log_json: bool = Field(False, validation_alias=AliasChoices("LOG_JSON", "log_json"))
    """JSON log lines (production) instead of console lines (development)."""
    system_prompt_file: FilePath = Field(
        DEFAULT_PERSONA,
        validation_alias=AliasChoices("SYSTEM_PROMPT_FILE", "system_prompt_file"),
    )
    """The agent's persona (system prompt); by default the receptionist of a fictional
    dental practice (`src/voice_agent/entrypoints/bootstrap/personas/receptionist.txt`).
    Keep it tight for the local model: SmolLM2-135M follows short, factual prompts best."""
    greeting: str = Field(
        DEFAULT_GREETING,
        min_length=1,
        max_length=300,
        validation_alias=AliasChoices("GREETING", "greeting"),
    )
    """The agent's first words (spoken without the model): match it to the persona."""
    web_phone_max_calls: int = Field(
        2,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("WEB_PHONE_MAX_CALLS", "web_phone_max_calls"),
    )
    """Simultaneous web phone calls; the next caller gets a busy error (see docs/performance.md
    for what the local stack sustains on two cores)."""
    allowed_origins: str = Field(
        "", validation_alias=AliasChoices("ALLOWED_ORIGINS", "allowed_origins")
    )
    """Comma-separated origins (`https://phone.example.com`) whose pages may open the web
    phone besides the server's own, e.g. behind a TLS-terminating proxy."""

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(o.strip() for o in self.allowed_origins.split(",") if o.strip())

    shutdown_grace_s: float = Field(
        10.0,
        ge=0,
        le=600,
        validation_alias=AliasChoices("SHUTDOWN_GRACE_S", "shutdown_grace_s"),
    )
    """On SIGTERM, how long calls in progress get to be ended as `server_shutdown` and
    stored (usage included) before their tasks are cancelled."""

    livekit_url: str | None = Field(
        None, validation_alias=AliasChoices("LIVEKIT_URL", "livekit_url")
    )
    """The LiveKit server the worker takes calls from (`ws://host:7880`, `wss://...`)."""
    livekit_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("LIVEKIT_API_KEY", "livekit_api_key")
    )
    livekit_api_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("LIVEKIT_API_SECRET", "livekit_api_secret")
    )
    livekit_agent_name: str = Field(
        "voice-agent",
        min_length=1,
        validation_alias=AliasChoices("LIVEKIT_AGENT_NAME", "livekit_agent_name"),
    )
    """The agent name dispatch rules ask for (`room_config.agents`)."""
    livekit_target_load: float = Field(
        0.7,
        gt=0,
        le=1,
        validation_alias=AliasChoices("LIVEKIT_TARGET_LOAD", "livekit_target_load"),
    )
    """The server's `agents.target_load` (livekit-server's default 0.7): the server offers a
    worker no job once its reported load reaches it, so the worker reports that load only
    when it holds `WORKER_MAX_CALLS` calls. Set it to what the server is configured with."""
    worker_max_calls: int = Field(
        2, ge=1, le=1000, validation_alias=AliasChoices("WORKER_MAX_CALLS", "worker_max_calls")
    )
    """Calls one worker takes at once; it reports itself full beyond (LiveKit then dispatches
    to another worker)."""
    worker_drain_timeout_s: float = Field(
        300.0,
        ge=0,
        le=7200,
        validation_alias=AliasChoices("WORKER_DRAIN_TIMEOUT_S", "worker_drain_timeout_s"),
    )
    """On SIGTERM the worker takes no new call and lets calls in progress finish for this
    long; then it ends them as `server_shutdown`."""
    worker_http_host: str = Field(
        "127.0.0.1", validation_alias=AliasChoices("WORKER_HTTP_HOST", "worker_http_host")
    )
    worker_http_port: int = Field(
        8081,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("WORKER_HTTP_PORT", "worker_http_port"),
    )
    """The worker's `/health` and `/metrics`; 0 takes any free port (logged at start-up)."""

    @field_validator("system_prompt_file")
    @classmethod
    def _persona_is_readable_text(cls, path: Path) -> Path:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read the persona file {path}: {error}") from None
        if not text:
            raise ValueError(f"the persona file {path} is empty")
        return path

    @property
    def persona(self) -> str:
        return self.system_prompt_file.read_text(encoding="utf-8").strip()

    @property
    def provider_keys(self) -> ProviderKeys:
        return ProviderKeys(
            deepgram_api_key=self.deepgram_api_key,
            groq_api_key=self.groq_api_key,
            cartesia_api_key=self.cartesia_api_key,
        )
