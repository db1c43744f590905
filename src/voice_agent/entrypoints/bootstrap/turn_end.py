"""Which end-of-turn detector a call uses (`ENGINE__END_OF_TURN`)."""

from __future__ import annotations

from voice_agent.adapters.local.smart_turn import SmartTurnDetector
from voice_agent.adapters.turn_end.combined import CombinedTurnEndDetector
from voice_agent.adapters.turn_end.text import TextTurnEndDetector
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.entrypoints.bootstrap.settings import EndOfTurnName, Settings


def turn_end_detector(settings: Settings) -> TurnEndDetector:
    """The detector the settings select (shared by every call: detectors keep no call state).

    `model` and `combined` load Smart Turn here (about 0.1 s): call this once per process."""
    match settings.engine.end_of_turn:
        case EndOfTurnName.TEXT:
            return TextTurnEndDetector()
        case EndOfTurnName.MODEL:
            return SmartTurnDetector.load()
        case EndOfTurnName.COMBINED:
            return CombinedTurnEndDetector(SmartTurnDetector.load())
