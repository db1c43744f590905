"""numpy's BLAS on one thread, in processes that run the local models."""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def single_threaded_numpy_blas() -> None:
    """Limit numpy's BLAS (OpenBLAS in the numpy wheel) to one thread, for the process.

    The local models compute their input features with numpy (faster-whisper's log-mel
    extractor, for Whisper and Smart Turn alike), and numpy hands even that small matrix
    product to OpenBLAS's thread pool, whose threads then busy-wait for the next call for
    a while. On two cores they take the CPU from the model that runs next: a Smart Turn
    decision took 76 ms right after its features instead of 41 (docs/performance.md).
    No numpy product on a call's path is big enough to gain from a second thread.
    Idempotent; it changes OpenBLAS's global setting, hence a function for entrypoints."""
    threadpool_limits(limits=1, user_api="blas")
