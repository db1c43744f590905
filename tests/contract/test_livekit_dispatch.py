"""`AgentWorker` against a loopback server speaking LiveKit's agent dispatch protocol:
registration, jobs offered, run and reported, load, draining, termination, reconnection."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from fake_servers.livekit_agent import API_KEY, API_SECRET, FakeLiveKitDispatch
from livekit.protocol import agent

from voice_agent.adapters.livekit import AgentWorker, AssignedJob, LiveKitSettings
from voice_agent.application.ports.errors import ProviderAuthError


class Calls:
    """The job handler: records each job and holds it until released."""

    def __init__(self) -> None:
        self.jobs: list[AssignedJob] = []
        self.release = asyncio.Event()
        self.fail = False

    async def __call__(self, job: AssignedJob) -> None:
        self.jobs.append(job)
        await self.release.wait()
        if self.fail:
            raise RuntimeError("the call broke")


@pytest.fixture
async def server() -> AsyncIterator[FakeLiveKitDispatch]:
    async with FakeLiveKitDispatch() as fake:
        yield fake  # type: ignore[misc]


Started = Callable[..., Awaitable[tuple[AgentWorker, Calls]]]


@pytest.fixture
async def started(server: FakeLiveKitDispatch) -> AsyncIterator[Started]:
    tasks: list[asyncio.Task[None]] = []

    async def start(
        max_jobs: int = 2, secret: str = API_SECRET, status_interval_s: float = 0.05
    ) -> tuple[AgentWorker, Calls]:
        calls = Calls()
        settings = LiveKitSettings(
            server.url,
            API_KEY,
            secret,
            agent_name="receptionist",
            status_interval_s=status_interval_s,
        )
        worker = AgentWorker(settings, calls, max_jobs=max_jobs)
        tasks.append(asyncio.create_task(worker.run()))
        return worker, calls

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_worker_registers_under_its_agent_name(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    worker, _ = await started()
    await asyncio.wait_for(worker.registered.wait(), 5)
    assert worker.worker_id == "W1"
    assert server.worker.agent_name == "receptionist"
    await server.wait_until(lambda: server.worker.pings > 0 and bool(server.worker.worker_statuses))
    status = server.worker.worker_statuses[0]
    assert (status.status, status.job_count) == (agent.WS_AVAILABLE, 0)


async def test_a_wrong_secret_is_refused_at_once(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    settings = LiveKitSettings(server.url, API_KEY, "not-the-secret-" * 3)
    with pytest.raises(ProviderAuthError, match="livekit"):
        await asyncio.wait_for(AgentWorker(settings, Calls(), max_jobs=1).run(), 5)
    assert server.refused


async def test_a_dispatched_call_runs_and_is_reported(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    worker, calls = await started()
    await asyncio.wait_for(worker.registered.wait(), 5)
    job_id, assigned = await server.dispatch("call-42")
    assert assigned
    await server.wait_until(lambda: bool(calls.jobs))
    assert (calls.jobs[0].room, calls.jobs[0].token) == ("call-42", "room-call-42")
    assert "room-call-42" not in repr(calls.jobs[0]), "the room token is a secret"
    await server.wait_until(lambda: server.statuses(job_id) == [agent.JS_RUNNING])
    calls.release.set()
    await server.wait_until(lambda: server.statuses(job_id)[-1] == agent.JS_SUCCESS)
    assert not worker.jobs


async def test_a_failed_call_is_reported_failed(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    worker, calls = await started()
    await asyncio.wait_for(worker.registered.wait(), 5)
    calls.fail = True
    calls.release.set()
    job_id, _ = await server.dispatch("call-1")
    await server.wait_until(lambda: agent.JS_FAILED in server.statuses(job_id))
    assert server.worker.job_statuses[-1] == (job_id, agent.JS_FAILED, "RuntimeError")


async def test_a_full_worker_declines_and_says_so(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    worker, _ = await started(max_jobs=1)
    await asyncio.wait_for(worker.registered.wait(), 5)
    assert (await server.dispatch("first"))[1]
    assert not (await server.dispatch("second"))[1]
    await server.wait_until(
        lambda: (
            server.worker.worker_statuses[-1].status == agent.WS_FULL
            and server.worker.worker_statuses[-1].job_count == 1
        )
    )


async def test_go_away_drains_the_worker(server: FakeLiveKitDispatch, started: Started) -> None:
    worker, _ = await started()
    await asyncio.wait_for(worker.registered.wait(), 5)
    await server.go_away()
    await server.wait_until(
        lambda: any(status.draining for status in server.worker.worker_statuses)
    )
    assert not (await server.dispatch("late"))[1]


async def test_draining_is_reported_at_once_not_at_the_next_interval(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    worker, _ = await started(status_interval_s=600)
    await asyncio.wait_for(worker.registered.wait(), 5)
    await server.wait_until(lambda: bool(server.worker.worker_statuses))
    worker.drain()
    await server.wait_until(
        lambda: any(s.draining for s in server.worker.worker_statuses), timeout_s=5
    )
    last = server.worker.worker_statuses[-1]
    assert (last.status, last.draining) == (agent.WS_FULL, True)


async def test_a_full_worker_says_so_when_its_call_starts_and_is_free_once_it_ends(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    # With one call per worker, being reported full until the next interval after the call
    # ended made the server drop the next call ("no worker available").
    worker, calls = await started(max_jobs=1, status_interval_s=600)
    await asyncio.wait_for(worker.registered.wait(), 5)
    await server.wait_until(lambda: bool(server.worker.worker_statuses))
    await server.dispatch("call-1")
    await server.wait_until(
        lambda: server.worker.worker_statuses[-1].status == agent.WS_FULL, timeout_s=5
    )
    calls.release.set()
    await server.wait_until(
        lambda: server.worker.worker_statuses[-1].status == agent.WS_AVAILABLE, timeout_s=5
    )
    assert server.worker.worker_statuses[-1].job_count == 0


async def test_a_termination_ends_the_call(server: FakeLiveKitDispatch, started: Started) -> None:
    worker, calls = await started()
    await asyncio.wait_for(worker.registered.wait(), 5)
    job_id, _ = await server.dispatch("call-7")
    await server.wait_until(lambda: bool(calls.jobs))
    await server.terminate(job_id)
    await server.wait_until(lambda: agent.JS_FAILED in server.statuses(job_id))
    assert not worker.jobs


async def test_the_worker_reconnects_and_registers_again(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    worker, _ = await started()
    await asyncio.wait_for(worker.registered.wait(), 5)
    await server.drop()
    await server.wait_until(lambda: len(server.workers) == 2, timeout_s=10)
    await asyncio.wait_for(worker.registered.wait(), 5)
    assert worker.worker_id == "W2"


async def test_calls_in_progress_go_on_across_a_reconnection_and_are_reported_again(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    worker, calls = await started()
    await asyncio.wait_for(worker.registered.wait(), 5)
    job_id, _ = await server.dispatch("call-9")
    await server.wait_until(lambda: bool(calls.jobs))
    await server.drop()
    await server.wait_until(lambda: len(server.workers) == 2, timeout_s=10)
    await server.wait_until(lambda: server.statuses(job_id) == [agent.JS_RUNNING])
    calls.release.set()
    await server.wait_until(lambda: server.statuses(job_id)[-1] == agent.JS_SUCCESS)


def _reported_jobs(server: FakeLiveKitDispatch, count: int) -> bool:
    statuses = server.worker.worker_statuses
    return bool(statuses) and statuses[-1].job_count == count


async def test_a_worker_takes_calls_up_to_its_capacity_not_up_to_the_load_threshold(
    server: FakeLiveKitDispatch, started: Started
) -> None:
    """The server offers no job to a worker reporting its target load (0.7) or more: the
    worker reports that only once its `max_jobs` calls run, so it gets all of them."""
    worker, _ = await started(max_jobs=4, status_interval_s=600)
    await asyncio.wait_for(worker.registered.wait(), 5)
    assigned = []
    for n in range(5):
        # Each dispatch after the server has the worker's report of the calls so far.
        await server.wait_until(functools.partial(_reported_jobs, server, n))
        assigned.append((await server.dispatch(f"call-{n}"))[1])
    assert assigned == [True] * 4 + [False]
    assert server.not_offered == ["call-4"]
    assert server.worker.worker_statuses[-1].load == pytest.approx(0.7)
    assert server.worker.worker_statuses[-1].status == agent.WS_FULL
