import asyncio
import threading

from voice_agent.adapters.local.worker import ModelWorker, WorkerStatus
from voice_agent.entrypoints.bootstrap.health import Health
from voice_agent.entrypoints.bootstrap.stack_health import worker_health, worker_probe


async def test_a_model_worker_reports_its_queue_and_whether_it_runs() -> None:
    worker = ModelWorker("whisper", max_queued=2)
    probe = worker_probe(worker.status)
    assert (await probe()).detail == "whisper: idle, 0 waiting (queue of 2)"

    release = threading.Event()
    started = threading.Event()

    def job() -> int:
        started.set()
        release.wait(5)
        return 1

    jobs = [asyncio.ensure_future(worker.run(job)) for _ in range(4)]
    await asyncio.to_thread(started.wait, 5)
    await asyncio.sleep(0)
    busy = await probe()
    assert busy.status is Health.DEGRADED
    assert busy.detail == "whisper: queue full, 3 waiting (queue of 2)"
    release.set()
    assert await asyncio.gather(*jobs) == [1, 1, 1, 1]
    assert (await probe()).status is Health.HEALTHY

    worker.close()
    stopped = await probe()
    assert (stopped.status, stopped.detail) == (Health.UNHEALTHY, "whisper: worker stopped")


def test_a_job_running_too_long_degrades_the_stage() -> None:
    slow = worker_health(
        WorkerStatus(name="llama", alive=True, max_queued=8, waiting=1, running_for_s=12.4)
    )
    assert (slow.status, slow.detail) == (
        Health.DEGRADED,
        "llama: one job running for 12 s, 1 waiting (queue of 8)",
    )
