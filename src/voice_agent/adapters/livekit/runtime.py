"""The LiveKit media SDK's native runtime, stopped on purpose before a process exits.

The SDK stops its runtime (Rust threads) from an `atexit` hook, i.e. after the event loop is
closed and while the interpreter is being torn down; events still in flight then reach a
closed loop or a finalizing interpreter, and the process aborts ("panic in a function that
cannot unwind", SIGABRT) or dies of a segmentation fault instead of exiting 0. A process that
is done with every room (the worker, once drained) stops it here first, inside its loop.
Only for a process about to exit: rooms cannot be joined afterwards.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def release_media_runtime() -> None:
    # The SDK's own dispose step (livekit 1.2.1, pinned), which its atexit hook runs; safe to
    # call twice (the hook then does nothing) and before any room was joined.
    from livekit.rtc._ffi_client import FfiClient

    client = FfiClient._instance
    dispose = getattr(client, "_dispose", None)
    if dispose is None:
        return
    try:
        dispose()
    except Exception:  # never turn a clean shutdown into a failure
        log.exception("could not stop the LiveKit media runtime")
