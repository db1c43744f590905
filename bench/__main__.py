"""Run benchmarks: `python -m bench` (all) or `python -m bench NAME [NAME...]`."""

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
}


def main(names: list[str]) -> int:
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
