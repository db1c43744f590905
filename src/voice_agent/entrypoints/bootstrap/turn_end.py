"""Which end-of-turn detector a call uses (`ENGINE__END_OF_TURN`)."""

from __future__ import annotations

import logging
from pathlib import Path

from voice_agent.adapters.local.smart_turn import SmartTurnDetector, smart_turn_path
from voice_agent.adapters.turn_end.combined import CombinedTurnEndDetector
from voice_agent.adapters.turn_end.text import TextTurnEndDetector
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.entrypoints.bootstrap.blas import single_threaded_numpy_blas
from voice_agent.entrypoints.bootstrap.settings import EndOfTurnName, Settings, StackName
from voice_agent.entrypoints.bootstrap.stack import StackChoice, choose_stack

log = logging.getLogger(__name__)


def turn_end_detector(settings: Settings, stack: StackChoice | None = None) -> TurnEndDetector:
    """The detector the settings select (shared by every call: detectors keep no call state).

    `model` and `combined` load Smart Turn here (about 0.1 s): call this once per process.
    `auto` (the default) is `combined` on the local stack when the model file is installed
    (`make setup` installs it), and `text` otherwise (the cloud stack, a bare install).
    `stack`: the stack the process runs (by default the one the settings choose)."""
    match settings.engine.end_of_turn:
        case EndOfTurnName.AUTO:
            return _automatic(stack or choose_stack(settings))
        case EndOfTurnName.TEXT:
            return TextTurnEndDetector()
        case EndOfTurnName.MODEL:
            return _smart_turn(None)
        case EndOfTurnName.COMBINED:
            return CombinedTurnEndDetector(_smart_turn(None))


def _automatic(stack: StackChoice) -> TurnEndDetector:
    if stack.name is not StackName.LOCAL:
        return TextTurnEndDetector()
    try:
        model = smart_turn_path()
    except FileNotFoundError as missing:
        log.info("end of turn by the text rules alone: %s", missing)
        return TextTurnEndDetector()
    return CombinedTurnEndDetector(_smart_turn(model))


def _smart_turn(model: Path | None) -> SmartTurnDetector:
    single_threaded_numpy_blas()  # its features are a numpy product, see the function
    return SmartTurnDetector.load(model)
