"""The call's limits and exits besides the caller hanging up: silence prompts, the maximum
duration, reopening a failed recognizer, and the tools the model may call (end the call,
transfer it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voice_agent.application.ports.llm import ToolCall, ToolSpec
from voice_agent.application.ports.transport import TransferOutcome
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.session.inputs import Timer
from voice_agent.application.session.timers import Timers
from voice_agent.application.session.tools import tools_for
from voice_agent.domain.call import EndReason


@dataclass(frozen=True, slots=True)
class CannedLine:
    """A line spoken without the model; `then_end`: end the call once it is heard (`firm`:
    even if the caller interrupts it)."""

    text: str
    then_end: EndReason | None = None
    firm: bool = False


@dataclass(frozen=True, slots=True)
class Transfer:
    destination: str


@dataclass(frozen=True, slots=True)
class EndCall:
    pass


class CallGuards:
    MAX_STT_REOPENS = 3

    def __init__(self, config: SessionConfig, timers: Timers) -> None:
        self._config = config
        self._timers = timers
        self.tools: list[ToolSpec] = tools_for(config.transfer_destination)
        self.failed = False
        """Something failed that the call could not recover from (stored as `failed`)."""
        self.hang_up_on_end = True
        """False once the line is gone (the caller hung up, or the call was transferred)."""
        self._silence_prompts = 0
        self._stt_reopens = 0

    # -- silence and duration --------------------------------------------------------
    def start_clock(self) -> None:
        self._timers.schedule(Timer.MAX_DURATION, self._config.max_call_duration_s)

    def arm_silence(self, *, listening: bool, voice_active: bool) -> None:
        if listening and not voice_active:
            self._timers.schedule(Timer.SILENCE, self._config.silence_timeout_s)

    def silence_line(self) -> CannedLine:
        """The caller stayed silent: ask once, then say goodbye."""
        self._silence_prompts += 1
        prompts = self._config.prompts
        if self._silence_prompts == 1:
            return CannedLine(prompts.still_there)
        return CannedLine(prompts.silence_goodbye, then_end=EndReason.SILENCE_TIMEOUT)

    def shutdown_line(self, reason: EndReason) -> CannedLine:
        """The call is ended from outside (`reason`) with a goodbye: said even if the caller
        talks over it, then the call ends."""
        return CannedLine(self._config.prompts.shutdown_goodbye, then_end=reason, firm=True)

    def time_limit_line(self) -> CannedLine:
        return CannedLine(
            self._config.prompts.time_limit, then_end=EndReason.MAX_DURATION, firm=True
        )

    # -- failures --------------------------------------------------------------------
    def may_reopen_stt(self) -> bool:
        """Whether the recognizer may be reopened once more (counts the attempt)."""
        if self._stt_reopens >= self.MAX_STT_REOPENS:
            return False
        self._stt_reopens += 1
        return True

    def failure_line(self) -> CannedLine:
        """Something the call needs broke for good: apologize and end it as failed."""
        self.failed = True
        return CannedLine(self._config.prompts.apology, then_end=EndReason.ERROR, firm=True)

    # -- tools -----------------------------------------------------------------------
    def closing_line(self, calls: Sequence[ToolCall]) -> str | None:
        """What to say when the model called a tool without saying anything."""
        names = {c.name for c in calls}
        if "transfer_call" in names:
            return self._config.prompts.transferring
        if "end_call" in names:
            return self._config.prompts.farewell
        return None

    def tool_action(self, calls: Sequence[ToolCall]) -> Transfer | EndCall | None:
        """What the model's tool calls ask of the call, once the reply was heard."""
        names = [c.name for c in calls]
        destination = self._config.transfer_destination
        if "transfer_call" in names and destination:
            return Transfer(destination)
        if "end_call" in names:
            return EndCall()
        return None

    def transfer_failed_line(self, outcome: TransferOutcome) -> CannedLine:
        """What the caller hears when the transfer did not happen: still on the line."""
        prompts = self._config.prompts
        lines = {
            TransferOutcome.BUSY: prompts.transfer_busy,
            TransferOutcome.DECLINED: prompts.transfer_declined,
            TransferOutcome.NO_ANSWER: prompts.transfer_no_answer,
        }
        return CannedLine(lines.get(outcome, prompts.transfer_failed))
