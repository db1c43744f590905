"""This session's local-stack latency changes, before and after, in one run:
`python -m bench local-ab [--rounds N] [--questions N] [--json]`.

One process loads the models once; one caller asks the first `--questions` Piper-voiced
questions of `bench.local_stack` in real time (`one_call`), once per configuration per
round, configurations alternated so the machine's drift hits them alike:

- `before`: Whisper on faster-whisper's 30 s window, no foreground (llama.cpp generates
  while Piper renders a reply's first phrase);
- `window`: Whisper's short window (`WhisperSpeechToText.window_s`, 15 s), no foreground;
- `shipped`: the short window and the foreground (`adapters/local/foreground.py`).

Voice to voice and its stages as the engine measures them (`LatencyBreakdown`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
from typing import Any

from bench.common import percentile
from bench.local_stack import QUESTIONS, caller_speech, one_call
from voice_agent.adapters.local.whisper import DEFAULT_WINDOW_S, FULL_WINDOW_S, WhisperSpeechToText
from voice_agent.domain.turn import LatencyBreakdown
from voice_agent.entrypoints.bootstrap.local_stack import LocalModels

CONFIGS = {"before": (FULL_WINDOW_S, False), "window": (DEFAULT_WINDOW_S, False)}
CONFIGS["shipped"] = (DEFAULT_WINDOW_S, True)
STAGES = ("e2e", "eou", "llm_ttft", "tts_ttfb")


def row(latencies: list[LatencyBreakdown]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in STAGES:
        values = [v for lat in latencies if (v := lat.as_dict()[stage]) is not None]
        out[stage] = {"n": len(values), "p50": round(percentile(values, 50))}
        out[stage]["p95"] = round(percentile(values, 95))
    return out


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench local-ab", description=__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(args if args is not None else [])
    models = LocalModels.load(progress=lambda line: None)
    speech = caller_speech(models, QUESTIONS[: options.questions])
    stts = {
        window: WhisperSpeechToText(models.stt.model, window_s=window, foreground=models.foreground)
        for window in {window for window, _ in CONFIGS.values()}
    }
    collected: dict[str, list[LatencyBreakdown]] = {name: [] for name in CONFIGS}
    for _ in range(options.rounds):
        for name, (window, foreground) in CONFIGS.items():
            models.foreground.enabled = foreground
            variant = dataclasses.replace(models, stt=stts[window])
            collected[name] += asyncio.run(one_call(variant, speech)).latencies
    result = {name: row(latencies) for name, latencies in collected.items()}
    if options.json:
        print(json.dumps(result))
        return 0
    print("| configuration | turns | v2v p50 | v2v p95 | eou p50 | llm_ttft p50 | tts_ttfb p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, figures in result.items():
        print(
            f"| {name} | {figures['e2e']['n']} | {figures['e2e']['p50']} | {figures['e2e']['p95']} "
            f"| {figures['eou']['p50']} | {figures['llm_ttft']['p50']} "
            f"| {figures['tts_ttfb']['p50']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
