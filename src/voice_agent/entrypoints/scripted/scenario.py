"""The scripted-call scenario format (YAML), validated with precise error messages.

See README.md, "Scripted calls", for the format with examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from voice_agent.adapters.fakes.llm import FakeLlmSettings, ScriptedReply, ScriptedToolCall
from voice_agent.adapters.fakes.stt import FakeSttSettings
from voice_agent.adapters.fakes.tts import FakeTtsSettings
from voice_agent.adapters.memory_line.caller import CallerAction, CallerScript, Trigger

SECONDS_PER_WORD = 0.4
TRIGGERS: tuple[Trigger, ...] = ("after_reply", "into_reply", "at", "after_silence")


class ScenarioError(ValueError):
    """The scenario file is missing, not YAML, or does not follow the format."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallerStep(_Strict):
    """One caller action: exactly one of say / cough / dtmf / hang_up, plus at most one
    trigger (default: `after_reply: 0.5`)."""

    say: str | None = None
    cough: float | None = Field(None, gt=0, description="seconds of wordless noise")
    dtmf: str | None = Field(None, pattern=r"^[0-9*#A-D]$")
    hang_up: bool = False
    duration: float | None = Field(None, gt=0, le=120)
    after_reply: float | None = Field(None, ge=0)
    into_reply: float | None = Field(None, ge=0)
    at: float | None = Field(None, ge=0)
    after_silence: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_action_one_trigger(self) -> CallerStep:
        actions = [
            self.say is not None,
            self.cough is not None,
            self.dtmf is not None,
            self.hang_up,
        ]
        if sum(actions) != 1:
            raise ValueError("each caller step needs exactly one of: say, cough, dtmf, hang_up")
        if sum(getattr(self, t) is not None for t in TRIGGERS) > 1:
            raise ValueError(f"a caller step takes at most one trigger of: {', '.join(TRIGGERS)}")
        return self

    def to_action(self) -> CallerAction:
        trigger: Trigger = "after_reply"
        seconds = 0.5
        for name in TRIGGERS:
            value = getattr(self, name)
            if value is not None:
                trigger, seconds = name, value
        if self.hang_up:
            return CallerAction("hang_up", trigger=trigger, seconds=seconds)
        if self.dtmf is not None:
            return CallerAction("dtmf", self.dtmf, trigger=trigger, seconds=seconds)
        if self.cough is not None:
            return CallerAction("say", "", self.cough, trigger, seconds)
        text = self.say or ""
        duration = self.duration or max(0.4, SECONDS_PER_WORD * len(text.split()))
        return CallerAction("say", text, duration, trigger, seconds)


class ToolStep(_Strict):
    name: Literal["end_call", "transfer_call"]
    arguments: dict[str, Any] = Field(default_factory=dict)


class AgentStep(_Strict):
    """One scripted model reply, in the order the model is asked."""

    reply: str = ""
    tools: list[ToolStep] = Field(default_factory=list)
    ttft: float | None = Field(None, ge=0, le=60)
    tokens_per_second: float | None = Field(None, gt=0)
    fail: Literal["unavailable", "timeout"] | None = None
    fail_after_tokens: int = Field(0, ge=0)

    def to_reply(self) -> ScriptedReply:
        return ScriptedReply(
            text=self.reply,
            tool_calls=[ScriptedToolCall(t.name, t.arguments) for t in self.tools],
            ttft_s=self.ttft,
            tokens_per_second=self.tokens_per_second,
            fail_after_tokens=self.fail_after_tokens if self.fail else None,
            failure=self.fail or "unavailable",
        )


class Latency(_Strict):
    """Per-stage latencies injected into the fakes, in seconds."""

    stt_final: float = Field(0.15, ge=0, le=10)
    stt_pause_guess: float | None = Field(None, ge=0, le=10)
    llm_ttft: float = Field(0.3, ge=0, le=60)
    llm_tokens_per_second: float = Field(60.0, gt=0)
    tts_ttfb: float = Field(0.1, ge=0, le=60)
    tts_chars_per_second: float = Field(15.0, gt=0)
    tts_word_timings: bool = True


class Failures(_Strict):
    tts_calls: list[int] = Field(default_factory=list, description="synthesis calls that fail")
    tts_after_chunks: int | None = Field(None, ge=0)
    stt_after: float | None = Field(None, gt=0, description="drop the recognizer after N s")


class ScenarioSettings(_Strict):
    silence_timeout: float | None = Field(None, ge=1)
    max_call_duration: float | None = Field(None, ge=1)
    transfer_destination: str | None = None
    greeting: str | None = None
    system_prompt: str | None = None


class Scenario(_Strict):
    name: str = "scripted call"
    caller_number: str | None = "+15550100"
    settings: ScenarioSettings = Field(default_factory=ScenarioSettings)
    latency: Latency = Field(default_factory=Latency)
    failures: Failures = Field(default_factory=Failures)
    caller: list[CallerStep] = Field(default_factory=list)
    agent: list[AgentStep] = Field(default_factory=list)

    @property
    def script(self) -> CallerScript:
        return CallerScript([step.to_action() for step in self.caller])

    @property
    def replies(self) -> list[ScriptedReply]:
        return [step.to_reply() for step in self.agent]

    def stt_settings(self) -> FakeSttSettings:
        return FakeSttSettings(
            final_latency_s=self.latency.stt_final,
            pause_guess_latency_s=self.latency.stt_pause_guess,
            fail_after_s=self.failures.stt_after,
        )

    def llm_settings(self) -> FakeLlmSettings:
        return FakeLlmSettings(
            ttft_s=self.latency.llm_ttft, tokens_per_second=self.latency.llm_tokens_per_second
        )

    def tts_settings(self) -> FakeTtsSettings:
        return FakeTtsSettings(
            ttfb_s=self.latency.tts_ttfb,
            chars_per_second=self.latency.tts_chars_per_second,
            word_timings=self.latency.tts_word_timings,
            fail_on_calls=tuple(self.failures.tts_calls),
            fail_after_chunks=self.failures.tts_after_chunks,
        )


def load_scenario(path: Path) -> Scenario:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"cannot read scenario {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path} is not valid YAML: {error}") from error
    return parse_scenario(raw, source=str(path))


def parse_scenario(raw: object, *, source: str = "scenario") -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: the top level must be a mapping")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'scenario'}: {e['msg']}"
            for e in error.errors()
        )
        raise ScenarioError(f"{source}: {problems}") from error
