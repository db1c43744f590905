"""llama.cpp (SmolLM2-135M, the installed build) by thread count, on a quiet machine and
beside one busy process: the time to a first token with a cold prompt (prefill), with a
prompt whose prefix is cached (a call's next turn), and generation speed.

Each configuration runs in its own process (OpenMP reads `OMP_WAIT_POLICY` when the library
loads). The busy process is one `while True: pass` loop: on two cores it takes one, as a
second call's Whisper or Piper would. Options: `BENCH_LLAMA_RUNS` (default 6) repetitions;
`BENCH_LLAMA_COMPARE=/path/to/python` also runs the default configuration under another
interpreter whose llama-cpp-python is a different build (e.g. one tuned to the build host's
CPU), so the cost of the portable flags is measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.common import percentile

RUNS = int(os.environ.get("BENCH_LLAMA_RUNS", "6"))
CONFIGS = [(1, 1), (1, 2), (2, 2)]
"""(generation threads, prompt threads)."""
POLICIES = ["default", "PASSIVE"]
SYSTEM = (
    "You are Sam, the receptionist of Maple Street Dental. Answer in one or two short "
    "sentences. The practice is open Monday to Friday from eight to six and on Saturday "
    "mornings. A check-up costs eighty dollars and a cleaning costs one hundred and ten. "
    "There is free parking behind the building. New patients are welcome."
)
QUESTION = "Hello, can you tell me a long story about your practice and everything it offers?"


@dataclass(frozen=True)
class Figures:
    cold_ttft_ms: list[float]
    warm_ttft_ms: list[float]
    tokens_per_s: list[float]


def measure(threads: int, batch_threads: int, runs: int) -> Figures:
    from voice_agent.adapters.local.llama import LlamaCppLanguageModel, SamplingSettings
    from voice_agent.application.ports.llm import TextDelta
    from voice_agent.domain.history import ChatMessage, MessageRole

    llm = LlamaCppLanguageModel.load(
        threads=threads,
        batch_threads=batch_threads,
        sampling=SamplingSettings(
            max_tokens=48, max_sentences=1000, enough_words=1000, temperature=0.0
        ),
    )

    async def turn(messages: list[ChatMessage]) -> tuple[float, float, str]:
        started = time.perf_counter()
        first = 0.0
        pieces: list[str] = []
        async for event in llm.stream(messages):
            if isinstance(event, TextDelta):
                if not pieces:
                    first = time.perf_counter()
                pieces.append(event.text)
        ended = time.perf_counter()
        rate = (len(pieces) - 1) / (ended - first) if len(pieces) > 1 else 0.0
        return (first - started) * 1000, rate, "".join(pieces)

    async def run() -> Figures:
        cold, warm, rates = [], [], []
        for n in range(runs):
            # A different first word defeats the KV cache: the whole prompt is evaluated.
            system = ChatMessage(MessageRole.SYSTEM, f"Call {n}. {SYSTEM}")
            messages = [system, ChatMessage(MessageRole.USER, QUESTION)]
            ttft, rate, reply = await turn(messages)
            cold.append(ttft)
            rates.append(rate)
            messages += [
                ChatMessage(MessageRole.ASSISTANT, reply),
                ChatMessage(MessageRole.USER, "And on Saturday?"),
            ]
            ttft, rate, _ = await turn(messages)
            warm.append(ttft)
            rates.append(rate)
        return Figures(cold, warm, rates)

    return asyncio.run(run())


@contextmanager
def busy_process(on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    # Spins until its parent is gone, so a benchmark killed midway leaves no busy process.
    spin = "import os\nparent = os.getppid()\nwhile os.getppid() == parent: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def child_env() -> dict[str, str]:
    """The environment of a measuring process: this checkout's `bench` and `voice_agent`
    importable whichever interpreter runs it."""
    env = dict(os.environ)
    here = os.getcwd()
    parts = (here, os.path.join(here, "src"), env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
    return env


def child(
    policy: str, threads: int, batch_threads: int, busy: bool, python: str = sys.executable
) -> Figures:
    env = child_env()
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    args = [python, "-m", "bench.llama_threads", "--one", str(threads), str(batch_threads)]
    with busy_process(busy):
        out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return Figures(**json.loads(out.stdout.strip().splitlines()[-1]))


def row(label: str, f: Figures) -> str:
    def p(values: list[float], q: float) -> str:
        return f"{percentile(values, q):.0f}"

    return (
        f"| {label} | {p(f.cold_ttft_ms, 50)} | {p(f.cold_ttft_ms, 95)} "
        f"| {p(f.warm_ttft_ms, 50)} | {p(f.warm_ttft_ms, 95)} "
        f"| {p(f.tokens_per_s, 50)} | {min(f.tokens_per_s):.0f} |"
    )


def build_of(python: str) -> str:
    code = "from voice_agent.adapters.local.llama import system_info; print(system_info())"
    out = subprocess.run(
        [python, "-c", code], env=child_env(), capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def main() -> None:
    compare = os.environ.get("BENCH_LLAMA_COMPARE")
    print(f"llama.cpp build: {build_of(sys.executable)}")
    if compare:
        print(f"compared with: {build_of(compare)}")
    print(f"{RUNS} runs per row; one busy process = one core spinning in Python\n")
    print(
        "| policy, threads (gen/prompt), load | cold TTFT p50 ms | p95 | cached TTFT p50 ms "
        "| p95 | tok/s p50 | tok/s min |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for policy in POLICIES:
        for threads, batch in CONFIGS:
            for busy in (False, True):
                figures = child(policy, threads, batch, busy)
                label = f"{policy}, {threads}/{batch}, {'busy' if busy else 'quiet'}"
                print(row(label, figures), flush=True)
    if compare:
        for python, name in ((sys.executable, "this build"), (compare, "compared build")):
            for busy in (False, True):
                figures = child("default", 1, 2, busy, python)
                print(row(f"{name}, 1/2, {'busy' if busy else 'quiet'}", figures), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        result = measure(int(sys.argv[2]), int(sys.argv[3]), RUNS)
        print(json.dumps(result.__dict__))
    else:
        main()
