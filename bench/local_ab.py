"""Local-stack latency changes, before and after, in one run:
`python -m bench local-ab [--configs A,B,...] [--rounds N] [--questions N] [--json]`.

One process loads the models once; one caller asks the first `--questions` Piper-voiced
questions of `bench.local_stack` in real time (`one_call`), once per configuration per
round, configurations alternated so the machine's drift hits them alike:

- `before`: Whisper on faster-whisper's 30 s window, no foreground (llama.cpp generates
  while Piper renders a reply's first phrase);
- `window`: Whisper's short window (`WhisperSpeechToText.window_s`, 15 s), no foreground;
- `whole-sentence`: the short window and the foreground (`adapters/local/foreground.py`), a
  reply's first phrase cut only at a comma after 12 characters (`LocalModels.tune`);
- `shipped`: as `whole-sentence`, the first phrase also cut at its first comma or before a
  conjunction or preposition after three words;
- `blas-pool`: as `shipped`, but numpy's BLAS on its own thread pool (two threads here), as
  before `entrypoints/bootstrap/blas.py` limited it to one;
- `vad-300`: as `shipped`, with Silero reporting the end of the voice after 0.3 s of
  silence (`SileroSettings.min_silence_s` before; now 0.25 s, the end-of-turn detector
  still hearing 0.3 s, and the engine's 0.35 s minimum wait before a turn is taken stays);
- `vad-200`: as `shipped`, the end of the voice after 0.2 s of silence.
- `final-only`: as `shipped`, but Whisper's guess at a pause is not published as an interim
  (`WhisperSpeechToText.publish_guesses`): the reply starts on the final transcript only,
  once the voice detector has confirmed the end.

`before` and `window` cut the first phrase as `shipped` does. Besides voice to voice, each
configuration reports the longest pause inside each reply (Piper's own pauses at commas
included): an early first phrase must not leave the caller waiting in mid-sentence; and
how many questions were not stored as one caller turn each (`split`: a pause inside a
question ended an utterance and the agent answered before the rest) and how many replies
were interrupted (`cut`).

Voice to voice and its stages as the engine measures them (`LatencyBreakdown`). First, the
contention the foreground removes: Piper rendering four first phrases alone, beside
llama.cpp generating tokens in another thread without the foreground, and with it (the
generator waiting between tokens, as `LlamaCppLanguageModel` does). Before each
call the language model forgets its KV cache (`LlamaCppLanguageModel.forget`): the calls
replay the same questions, so a call after one with the same transcripts would find its
prompts already evaluated (a first token in ~60 ms instead of ~180 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import threading
import time
from typing import Any

from threadpoolctl import threadpool_limits

from bench.common import percentile
from bench.local_stack import QUESTIONS, CallResult, caller_speech, one_call
from voice_agent.adapters.local.llama import FOREGROUND_WAIT_S
from voice_agent.adapters.local.silero import SileroSettings, SileroVoiceActivityDetector
from voice_agent.adapters.local.whisper import DEFAULT_WINDOW_S, FULL_WINDOW_S, WhisperSpeechToText
from voice_agent.domain.audio import AudioChunk
from voice_agent.entrypoints.bootstrap.local_stack import LocalModels


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    window_s: int = DEFAULT_WINDOW_S
    foreground: bool = True
    early_first_phrase: bool = True
    blas_threads: int = 1
    vad_silence_s: float = SileroSettings().min_silence_s
    publish_guesses: bool = True


CONFIGS = {
    "before": Config(window_s=FULL_WINDOW_S, foreground=False),
    "window": Config(foreground=False),
    "whole-sentence": Config(early_first_phrase=False),
    "shipped": Config(),
    "blas-pool": Config(blas_threads=2),
    "vad-300": Config(vad_silence_s=0.3),
    "vad-200": Config(vad_silence_s=0.2),
    "final-only": Config(publish_guesses=False),
}
DEFAULT_CONFIGS = "whole-sentence,shipped"
STAGES = ("e2e", "eou", "llm_ttft", "tts_ttfb")


PHRASES = (
    "We are open from nine to five on Saturday.",
    "Yes, we do teeth whitening.",
    "A check-up costs sixty euros.",
    "Sure, Tuesday at ten works.",
)


def piper_ms(models: LocalModels, first_phrase: bool) -> int:
    """Median ms of Piper rendering `PHRASES` (three times), held as a first phrase or not."""
    times = []
    for _ in range(3):
        for phrase in PHRASES:
            started = time.perf_counter()
            if first_phrase:
                with models.foreground.hold():
                    models.tts.render_blocking(phrase)
            else:
                models.tts.render_blocking(phrase)
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times))


def piper_contention(models: LocalModels) -> dict[str, int]:
    """Piper's phrase time alone, beside token generation, and beside it with the foreground."""
    llama = models.llm.llama
    prompt = llama.tokenize(b"<|im_start|>user\nTell me about teeth.<|im_end|>\n", special=True)
    stop = threading.Event()

    def generate() -> None:  # tokens one by one, waiting between them as the adapter does
        while not stop.is_set():
            llama.reset()  # type: ignore[no-untyped-call]
            llama.eval(prompt)
            for token in range(1000, 1060):
                if stop.is_set():
                    break
                llama.eval([token])
                models.foreground.wait_clear(FOREGROUND_WAIT_S)

    for phrase in PHRASES:
        models.tts.render_blocking(phrase)  # warm up
    result = {"alone": piper_ms(models, first_phrase=False)}
    generator = threading.Thread(target=generate)
    generator.start()
    try:
        result["beside_generation"] = piper_ms(models, first_phrase=False)
        result["beside_generation_foreground"] = piper_ms(models, first_phrase=True)
    finally:
        stop.set()
        generator.join()
    asyncio.run(models.llm.forget())
    return result


async def fresh_call(models: LocalModels, speech: list[AudioChunk]) -> CallResult:
    await models.llm.forget()
    return await one_call(models, speech, keep_audio=True)


def row(results: list[CallResult]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    latencies = [lat for result in results for lat in result.latencies]
    for stage in STAGES:
        values = [v for lat in latencies if (v := lat.as_dict()[stage]) is not None]
        out[stage] = {"n": len(values), "p50": round(percentile(values, 50))}
        out[stage]["p95"] = round(percentile(values, 95))
    pauses = [pause for result in results for pause in result.reply_pauses_ms]
    out["reply_pause"] = {"n": len(pauses), "p50": round(percentile(pauses, 50))}
    out["reply_pause"] |= {"p95": round(percentile(pauses, 95)), "max": round(max(pauses))}
    out["split"] = sum(result.split_questions for result in results)
    out["cut"] = sum(result.interrupted_replies for result in results)
    return out


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench local-ab", description=__doc__)
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS, help=f"comma-separated, of {', '.join(CONFIGS)}"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(args if args is not None else [])
    names = options.configs.split(",")
    if unknown := [name for name in names if name not in CONFIGS]:
        parser.error(f"unknown configuration {', '.join(unknown)}: choose of {', '.join(CONFIGS)}")
    models = LocalModels.load(progress=lambda line: None)
    contention = piper_contention(models)
    speech = caller_speech(models, QUESTIONS[: options.questions])
    collected: dict[str, list[CallResult]] = {name: [] for name in names}
    for _ in range(options.rounds):
        for name in names:
            config = CONFIGS[name]
            models.foreground.enabled = config.foreground
            vad = SileroVoiceActivityDetector(SileroSettings(min_silence_s=config.vad_silence_s))
            stt = WhisperSpeechToText(
                models.stt.model,
                window_s=config.window_s,
                foreground=models.foreground,
                vad=vad,
                publish_guesses=config.publish_guesses,
            )
            variant = dataclasses.replace(
                models, stt=stt, vad=vad, early_first_phrase=config.early_first_phrase
            )
            with threadpool_limits(limits=config.blas_threads, user_api="blas"):
                collected[name].append(asyncio.run(fresh_call(variant, speech)))
    result: dict[str, Any] = {name: row(results) for name, results in collected.items()}
    if options.json:
        print(json.dumps({"piper_ms": contention, "calls": result}))
        return 0
    print(
        f"Piper, one phrase (p50): alone {contention['alone']} ms, beside token generation "
        f"{contention['beside_generation']} ms, beside it with the foreground "
        f"{contention['beside_generation_foreground']} ms.\n"
    )
    print(
        "| configuration | turns | v2v p50 | v2v p95 | eou p50 | llm_ttft p50 | tts_ttfb p50 "
        "| longest pause in a reply p50 / p95 / max | split | cut |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for name, figures in result.items():
        pause = figures["reply_pause"]
        print(
            f"| {name} | {figures['e2e']['n']} | {figures['e2e']['p50']} | {figures['e2e']['p95']} "
            f"| {figures['eou']['p50']} | {figures['llm_ttft']['p50']} "
            f"| {figures['tts_ttfb']['p50']} | {pause['p50']} / {pause['p95']} / {pause['max']} "
            f"| {figures['split']} | {figures['cut']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
