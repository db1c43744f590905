"""The embedded local stack: Whisper tiny.en, SmolLM2-135M, Piper and Silero, loaded once per
process (with progress on stderr) and shared by every call."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from voice_agent.adapters.local.foreground import Foreground
from voice_agent.adapters.local.llama import LlamaCppLanguageModel
from voice_agent.adapters.local.piper import PiperTextToSpeech
from voice_agent.adapters.local.silero import SileroVoiceActivityDetector
from voice_agent.adapters.local.smart_turn import SmartTurnDetector
from voice_agent.adapters.local.whisper import WhisperSpeechToText
from voice_agent.adapters.local.worker import ModelWorker
from voice_agent.adapters.turn_end.combined import CombinedTurnEndDetector
from voice_agent.adapters.turn_end.text import TextTurnEndDetector
from voice_agent.adapters.web.transport import SAMPLE_RATE
from voice_agent.application.ports.turn_end import TurnEndDetector
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.entrypoints.bootstrap.blas import single_threaded_numpy_blas
from voice_agent.entrypoints.bootstrap.settings import StackName
from voice_agent.entrypoints.bootstrap.stack_health import worker_probe
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech, Stack

Progress = Callable[[str], None]
T = TypeVar("T")
FIRST_CLAUSE = 3
"""Characters before a comma may end the first phrase of a reply ("Yes," / "Sure,"; see `tune`)."""
EARLIER_FIRST_CLAUSE = 12
"""The comma rule before the early first phrase (`tune(early_first_phrase=False)`)."""
FIRST_BREAK_WORDS = 3
"""Words before a conjunction or preposition may end the first phrase (see `tune`)."""


def print_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class LocalModels:
    stt: WhisperSpeechToText
    llm: LlamaCppLanguageModel
    tts: PiperTextToSpeech
    vad: SileroVoiceActivityDetector
    canned: CannedSpeech
    load_seconds: dict[str, float] = field(default_factory=dict)
    foreground: Foreground = field(default_factory=Foreground)
    """Shared by the models: Whisper and Piper's first phrases before llama's next tokens."""
    turn_end: TurnEndDetector = field(default_factory=TextTurnEndDetector)
    """Set from the settings by whoever loads the models (`turn_end_detector`)."""
    early_first_phrase: bool = True
    """See `tune` (benchmarks compare both)."""

    @classmethod
    def load(cls, progress: Progress = print_progress) -> LocalModels:
        """Load the four models (about 1.5 s in all, longer on a cold disk cache)."""
        seconds: dict[str, float] = {}

        def step(name: str, load: Callable[[], T]) -> T:
            progress(f"loading {name} ...")
            started = time.perf_counter()
            model = load()
            seconds[name] = time.perf_counter() - started
            progress(f"loaded {name} in {seconds[name]:.2f} s")
            return model

        single_threaded_numpy_blas()
        foreground = Foreground()  # one per process: the models share its two cores
        vad = step("Silero VAD", SileroVoiceActivityDetector)
        stt = step(
            "Whisper tiny.en (speech to text)",
            lambda: WhisperSpeechToText.load(foreground=foreground),
        )
        llm = step(
            "SmolLM2-135M (language model)",
            lambda: LlamaCppLanguageModel.load(foreground=foreground),
        )
        tts = step(
            "Piper en_US joe (text to speech)",
            lambda: PiperTextToSpeech.load(foreground=foreground),
        )
        return cls(stt, llm, tts, vad, CannedSpeech(tts), seconds, foreground)

    @staticmethod
    def tune(config: SessionConfig, *, early_first_phrase: bool = True) -> SessionConfig:
        """Piper renders a phrase whole and SmolLM2 writes ~25 ms per token here, so a long
        first phrase delays the first audio: cut the first one at its first comma, or before
        a conjunction or preposition after three words ("We are open | from nine to five"),
        where a speaker may pause (docs/performance.md measures the pauses this leaves).
        `early_first_phrase=False`: only at a comma after 12 characters (the rule before)."""
        rules = dataclasses.replace(
            config.phrases,
            first_clause_chars=FIRST_CLAUSE if early_first_phrase else EARLIER_FIRST_CLAUSE,
            first_break_words=FIRST_BREAK_WORDS if early_first_phrase else None,
        )
        return dataclasses.replace(config, phrases=rules)

    async def warm(self, config: SessionConfig, sample_rate: int) -> None:
        """Before the first caller: prefill the system prompt, pre-render the apology (played
        when synthesis fails), and warm Piper up on the greeting (its first run is slow)."""
        await self.llm.warm(config.system_prompt)
        for line in (config.prompts.greeting, config.prompts.apology):
            await self.canned.prepare(line, sample_rate)

    async def stack(
        self, config: SessionConfig, turn_end: TurnEndDetector, sample_rate: int = SAMPLE_RATE
    ) -> Stack:
        """The models as a stack, warmed for calls at `sample_rate`."""
        self.turn_end = turn_end
        tuned = self.tune(config, early_first_phrase=self.early_first_phrase)
        await self.warm(tuned, sample_rate)
        speech = CallSpeech(self.stt, self.llm, self.tts)
        return Stack(
            StackName.LOCAL,
            tuned,
            lambda: speech,
            self.vad,
            self.canned,
            turn_end,
            probes={stage: worker_probe(w.status) for stage, w in self.workers().items()},
        )

    def workers(self) -> dict[str, ModelWorker]:
        """Each stage's model thread (Silero runs inline, on the event loop), and Smart
        Turn's when the end-of-turn detector uses it."""
        workers = {"stt": self.stt.worker, "llm": self.llm.worker, "tts": self.tts.worker}
        detector = self.turn_end
        if isinstance(detector, CombinedTurnEndDetector):
            detector = detector.model
        if isinstance(detector, SmartTurnDetector):
            workers["turn_end"] = detector.worker
        return workers


async def local_stack(
    config: SessionConfig, turn_end: TurnEndDetector, sample_rate: int = SAMPLE_RATE
) -> AsyncIterator[Stack]:
    """The container's `local` stack: the models loaded (in a thread), shared by every
    call."""
    models = await asyncio.to_thread(LocalModels.load)
    yield await models.stack(config, turn_end, sample_rate)
