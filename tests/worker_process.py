"""`voice-agent worker` as a real process, until its `/health` answers 200 (registered)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from tests.agent_server import BIN


@contextlib.asynccontextmanager
async def worker_process(
    environment: Mapping[str, str], port: int, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            BIN / "voice-agent",
            "worker",
            env=dict(environment),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(600):  # up to 60 s for the worker to load and register
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/health")).status_code == 200:
                        break
                await asyncio.sleep(0.1)  # polling for start-up, not timing an assertion
            else:
                text = await asyncio.to_thread(log.read_text)
                raise TimeoutError(f"the worker did not register:\n{text}")
        yield process
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
