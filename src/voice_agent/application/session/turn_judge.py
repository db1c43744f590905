"""Asks the call's `TurnEndDetector` whether the caller finished, without blocking the
session: the verdict comes back as a `TurnJudged` input, and the session reschedules its
end-of-turn timer when it lands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

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
        *,
        silence: Callable[[], float] = lambda: float("inf"),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`audio`: the caller's last seconds when asked (`CallerLine.recent_audio`), for a
        detector that `needs_audio`; without it such a detector is asked with None.
        `silence`: how long the caller has been silent (`CallerLine.silent_for`); such a
        detector is asked once it reaches the detector's `trailing_silence_s`, with `sleep`
        (the session clock's) waiting out the rest. The reply may start before: the voice
        detector can report the end sooner, and the verdict lands before the shortest
        end-of-turn delay would let the turn be taken."""
        self._detector = detector
        self._audio = audio
        self._silence = silence
        self._sleep = sleep
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
            self._task = asyncio.create_task(self._ask(self._detector, text), name="turn-end")
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

    async def _ask(self, detector: TurnEndDetector, text: str) -> None:
        audio = None
        if self._audio is not None and detector.needs_audio:
            if (wait := detector.trailing_silence_s - self._silence()) > 0:
                await self._sleep(wait)
            audio = self._audio()
        try:
            finished = (await detector.assess(text, audio)).finished
        except Exception:
            if not self._failure_logged:
                self._failure_logged = True
                log.exception("end-of-turn detector failed; using the text rules")
            finished = not looks_unfinished(text)
        self._inputs.put_nowait(TurnJudged(text, finished))
