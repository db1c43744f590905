"""What a scripted caller does and when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Trigger = Literal["after_reply", "into_reply", "at", "after_silence"]
"""When an action starts:
- after_reply: `seconds` after the agent's current or next reply finished playing (the
  polite default);
- into_reply: `seconds` after the agent's current or next reply started playing (barge-in);
- at: `seconds` after the call began;
- after_silence: `seconds` after the caller's previous action ended, whatever the agent does.
"""
ActionKind = Literal["say", "hang_up", "dtmf"]


@dataclass(frozen=True, slots=True)
class CallerAction:
    kind: ActionKind
    text: str = ""
    """What the caller says (recognized by the scripted STT), or the DTMF digit."""
    duration_s: float = 1.5
    trigger: Trigger = "after_reply"
    seconds: float = 0.5


@dataclass(frozen=True, slots=True)
class CallerScript:
    actions: Sequence[CallerAction]

    @property
    def transcripts(self) -> list[str]:
        """What the scripted STT should recognize, utterance by utterance."""
        return [a.text for a in self.actions if a.kind == "say"]
