"""Whisper on a short encoder window against the full 30 s one: time per transcription and
word error rate, as `python -m bench whisper-window [--cases FILE.tsv] [--window S] [--json]`.

The utterances are the end-of-turn set's caller turns (`bench/data/turns.tsv`) and, for
longer speech, 30 runs of four of them in a row (8-12 s), each voiced by Piper through a
phone band (8 kHz and back to 16 kHz) with the pre-roll and silence the session hands
Whisper (0.3 s before, 0.15 s after). Both windows transcribe every utterance in this
process, one after the other, on the same model instance; the word error rate is against
the text that was voiced (lower case, punctuation removed, jiwer's measure). With `--json`
one object: `{"utterances": N, "window_s": S, "short": {...}, "full": {...}}`, each with
`ms` p50/p95, `wer`, `long_wer`, and `retries` (short-window transcripts that repeated
themselves and were done again on the full window).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from bench.common import percentile
from bench.turns import DEFAULT_CASES, parse_cases
from voice_agent.adapters.audio.signal import resample, to_int16, trim_silence
from voice_agent.adapters.local.piper import PiperTextToSpeech
from voice_agent.adapters.local.whisper import (
    DEFAULT_WINDOW_S,
    FULL_WINDOW_S,
    WhisperSpeechToText,
)

RATE = 16000
LONG_RUNS = 30
PRE_ROLL_S = 0.3
TAIL_S = 0.15


def normalized(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def utterances(cases: Path) -> list[tuple[str, np.ndarray]]:
    texts = [case.text for case in parse_cases(cases.read_text(), str(cases))]
    pick = random.Random(1)
    texts += [" ".join(pick.sample(texts, 4)) for _ in range(LONG_RUNS)]
    piper = PiperTextToSpeech.load()
    voiced = []
    for text in texts:
        phone = trim_silence(resample(resample(piper.render_blocking(text), 8000), RATE))
        samples = to_int16(phone).astype(np.float32) / 32768.0
        before, after = np.zeros(int(PRE_ROLL_S * RATE)), np.zeros(int(TAIL_S * RATE))
        voiced.append((text, np.concatenate((before, samples, after)).astype(np.float32)))
    return voiced


def measure(stt: WhisperSpeechToText, voiced: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
    times, heard = [], []
    retries_before = stt.full_window_retries
    for _, samples in voiced:
        started = time.perf_counter()
        heard.append(stt.transcribe_blocking(samples))
        times.append((time.perf_counter() - started) * 1000)
    said = [normalized(text) for text, _ in voiced]
    heard = [normalized(text) or "-" for text in heard]
    return {
        "ms": {"p50": round(percentile(times, 50)), "p95": round(percentile(times, 95))},
        "wer": round(jiwer.wer(said, heard), 4),
        "long_wer": round(jiwer.wer(said[-LONG_RUNS:], heard[-LONG_RUNS:]), 4),
        "retries": stt.full_window_retries - retries_before,
    }


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench whisper-window", description=__doc__)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW_S)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(args if args is not None else [])
    voiced = utterances(options.cases)
    short = WhisperSpeechToText.load(window_s=options.window)
    full = WhisperSpeechToText(short.model, window_s=FULL_WINDOW_S)
    measure(short, voiced[:3])  # warm up both paths (they share the model)
    measure(full, voiced[:3])
    result = {
        "utterances": len(voiced),
        "window_s": options.window,
        "short": measure(short, voiced),
        "full": measure(full, voiced),
    }
    if options.json:
        print(json.dumps(result))
    else:
        print(f"## Whisper encoder window ({len(voiced)} phone-band utterances)\n")
        print("| window | p50 ms | p95 ms | WER | WER on 8-12 s | full-window retries |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, label in (("short", f"{options.window} s"), ("full", f"{FULL_WINDOW_S} s")):
            row = result[name]
            assert isinstance(row, dict)
            print(
                f"| {label} | {row['ms']['p50']} | {row['ms']['p95']} | {row['wer']:.3f} "
                f"| {row['long_wer']:.3f} | {row['retries']} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
