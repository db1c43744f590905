"""`single_threaded_numpy_blas`: the local models' process runs numpy's BLAS on one thread."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
from threadpoolctl import threadpool_info
from voice_agent.entrypoints.bootstrap.blas import single_threaded_numpy_blas
import numpy
before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
single_threaded_numpy_blas()
single_threaded_numpy_blas()
after = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
print(before, after)
"""


def test_numpys_blas_is_limited_to_one_thread_for_the_process() -> None:
    """In a fresh process (the setting is process-wide), with two threads allowed before."""
    env = {"OPENBLAS_NUM_THREADS": "2", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    before, after = done.stdout.strip().split("] [")
    assert before == "[2"
    assert after == "1]"
