"""The whole local pipeline (Whisper, SmolLM2, Piper, Silero) under the previous and the
shipped llama.cpp thread settings, in one run: voice-to-voice and its stages.

One caller asks `BENCH_AB_QUESTIONS` (default 10) Piper-voiced questions in real time
(`bench.local_stack.one_call`), `BENCH_AB_REPEATS` (default 2) times per configuration,
configurations alternated, each call in a fresh process (OpenMP reads `OMP_WAIT_POLICY` when
its library loads). "default" leaves OpenMP's policy unset in the child (spin, then sleep).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.common import percentile

QUESTIONS = int(os.environ.get("BENCH_AB_QUESTIONS", "10"))
REPEATS = int(os.environ.get("BENCH_AB_REPEATS", "2"))
CONFIGS = [("default", 2, 2, "previous"), ("PASSIVE", 1, 2, "shipped")]
STAGES = ("e2e", "stt", "llm_ttft", "tts_ttfb")


def one(threads: int, batch_threads: int) -> dict[str, list[float]]:
    import asyncio

    from bench.local_stack import QUESTIONS as ASKED
    from bench.local_stack import caller_speech, one_call
    from voice_agent.adapters.local.llama import LlamaCppLanguageModel
    from voice_agent.entrypoints.bootstrap.container import Container
    from voice_agent.entrypoints.bootstrap.local_stack import LocalModels

    defaults = LlamaCppLanguageModel.load.__func__.__kwdefaults__  # type: ignore[attr-defined]
    defaults.update(threads=threads, batch_threads=batch_threads)
    models = LocalModels.load(progress=lambda line: None)
    asyncio.run(models.warm(LocalModels.tune(Container().session_config()), 16000))
    result = asyncio.run(one_call(models, caller_speech(models, ASKED[:QUESTIONS])))
    return {
        stage: [v for lat in result.latencies if (v := lat.as_dict()[stage]) is not None]
        for stage in STAGES
    }


def child(policy: str, threads: int, batch_threads: int) -> dict[str, list[float]]:
    env = dict(os.environ)
    # An empty value is invalid for OpenMP (its default applies) but keeps the project's
    # `setdefault("OMP_WAIT_POLICY", "PASSIVE")` from choosing for it.
    env["OMP_WAIT_POLICY"] = "" if policy == "default" else policy
    args = [sys.executable, "-m", "bench.local_threads", "--one", str(threads), str(batch_threads)]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    figures: dict[str, list[float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    collected: dict[tuple[str, int, int, str], dict[str, list[float]]] = {
        config: {stage: [] for stage in STAGES} for config in CONFIGS
    }
    for _ in range(REPEATS):
        for config in CONFIGS:
            for stage, values in child(*config[:3]).items():
                collected[config][stage] += values
    print(f"One caller, {QUESTIONS} questions x {REPEATS} runs per row, alternated.\n")
    print(
        "| OpenMP wait, threads (gen/prompt) | answers | e2e p50 ms | p95 | stt p50 "
        "| llm_ttft p50 | tts_ttfb p50 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (policy, threads, batch, label), figures in collected.items():
        e2e = figures["e2e"]

        def p50(stage: str, figures: dict[str, list[float]] = figures) -> str:
            values = figures[stage]
            return f"{percentile(values, 50):.0f}" if values else "-"

        print(
            f"| {policy}, {threads}/{batch} ({label}) | {len(e2e)} of {QUESTIONS * REPEATS} "
            f"| {p50('e2e')} | {percentile(e2e, 95):.0f} | {p50('stt')} | {p50('llm_ttft')} "
            f"| {p50('tts_ttfb')} |",
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
