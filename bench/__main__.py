"""Run benchmarks: `python -m bench` (all), `python -m bench NAME [NAME...]`, or one benchmark
with its options: `python -m bench turns --cases FILE.tsv --json` (then only its output)."""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = {
    "engine": "bench.engine_overhead",
    "concurrency": "bench.concurrency",
    "leak": "bench.leak",
    "providers": "bench.providers",
    "health": "bench.health",
    "local": "bench.local_stack",
    "llama": "bench.llama_threads",
    "local-threads": "bench.local_threads",
    "local-ab": "bench.local_ab",
    "turns": "bench.turns",
    "whisper-window": "bench.whisper_window",
    "answers": "bench.answers",
    "livekit": "bench.livekit_calls",
    "worker-fakes": "bench.worker_fakes",
}


def main(args: list[str]) -> int:
    first_option = next((i for i, arg in enumerate(args) if arg.startswith("-")), len(args))
    names, options = args[:first_option], args[first_option:]
    if options:
        if len(names) != 1 or names[0] not in BENCHES:
            print("options go after exactly one benchmark name, e.g. `bench turns --json`")
            return 2
        code: int | None = importlib.import_module(BENCHES[names[0]]).main(options)
        return code or 0
    chosen = names or list(BENCHES)
    unknown = [n for n in chosen if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}")
        return 2
    for name in chosen:
        started = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        module = importlib.import_module(BENCHES[name])
        module.main()
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
