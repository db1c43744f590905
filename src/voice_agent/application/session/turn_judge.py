"""Asks the call's `TurnEndDetector` whether the caller finished, without blocking the
session: the verdict comes back as a `TurnJudged` input, and the session reschedules its
end-of-turn timer when it lands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.session.inputs import Input, TurnJudged
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.turn_end import looks_unfinished

log = logging.getLogger(__name__)


class TurnJudge:
    """One call's end-of-turn verdicts, one per caller text.

    With no detector the text rules answer in place. A detector that raises is replaced by
    the text rules for that verdict, and the failure is logged once per call.
    """

    def __init__(
        self,
        detector: TurnEndDetector | None,
        inputs: asyncio.Queue[Input],
        audio: Callable[[], AudioChunk | None] | None = None,
    ) -> None:
        """`audio`: the caller's last seconds when asked (`CallerLine.recent_audio`), for a
        detector that `needs_audio`; without it such a detector is asked with None."""
        self._detector = detector
        self._audio = audio
        self._inputs = inputs
        self._verdict: tuple[str, bool] | None = None
        self._task: asyncio.Task[None] | None = None
        self._asked: str | None = None
        self._failure_logged = False

    def finished(self, text: str) -> bool | None:
        """Whether the caller finished after saying `text`; None while the detector thinks
        (the verdict arrives as a `TurnJudged` input, to `record`)."""
        if self._detector is None:
            return not looks_unfinished(text)
        if self._verdict is not None and self._verdict[0] == text:
            return self._verdict[1]
        if self._asked != text:
            self._cancel()
            self._asked = text
            audio = self._audio() if self._audio and self._detector.needs_audio else None
            self._task = asyncio.create_task(
                self._ask(self._detector, text, audio), name="turn-end"
            )
        return None

    def record(self, judged: TurnJudged) -> bool:
        """Keep a verdict that arrived; False when it is stale (the text moved on)."""
        if judged.text != self._asked:
            return False
        self._verdict = (judged.text, judged.finished)
        self._asked = None
        self._task = None
        return True

    def reset(self) -> None:
        """A new caller turn: forget the last verdict, stop asking about the old text."""
        self._cancel()
        self._verdict = None

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = None
        self._asked = None

    async def _ask(self, detector: TurnEndDetector, text: str, audio: AudioChunk | None) -> None:
        try:
            finished = (await detector.assess(text, audio)).finished
        except Exception:
            if not self._failure_logged:
                self._failure_logged = True
                log.exception("end-of-turn detector failed; using the text rules")
            finished = not looks_unfinished(text)
        self._inputs.put_nowait(TurnJudged(text, finished))
