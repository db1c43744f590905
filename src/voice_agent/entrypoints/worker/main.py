"""The worker process: registers with LiveKit under the agent name, takes the calls it is
dispatched (at most `WORKER_MAX_CALLS`), runs each through the container's `CallRunner` on a
`LiveKitCallTransport`, and drains on `stop`: it reports itself full, lets calls in progress
finish for at most `WORKER_DRAIN_TIMEOUT_S`, then says a short goodbye to the rest and ends
them as `server_shutdown` (at once if the goodbye takes over `GOODBYE_TIMEOUT_S`).
Meanwhile it serves its `/health` and `/metrics` (see `http.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from dependency_injector import providers

from voice_agent.adapters.livekit import (
    AgentWorker,
    AssignedJob,
    CallRoom,
    LiveKitCallTransport,
    LiveKitControl,
    LiveKitSettings,
)
from voice_agent.adapters.observability.logging import CallLogContext
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.application.call_runner import CallRunner
from voice_agent.application.ports.observer import EventSink
from voice_agent.entrypoints.bootstrap.container import Container, resolved, shut_down
from voice_agent.entrypoints.bootstrap.settings import Settings, SipSettings
from voice_agent.entrypoints.bootstrap.sip import livekit_connection
from voice_agent.entrypoints.web.app import health_checker
from voice_agent.entrypoints.worker.http import bind, create_worker_app, watch_worker

log = logging.getLogger(__name__)
TRANSFER_ANSWER_MARGIN_S = 5.0
"""Past the ringing timeout, how long the server may take to say how the transfer ended
before the line gives up on it (as not answered)."""
GOODBYE_TIMEOUT_S = 10.0
"""After the drain, how long the calls left may take to say the shutdown goodbye (about 4 s
of speech) before they are ended at once. A container's stop grace period must exceed
`WORKER_DRAIN_TIMEOUT_S` by this much."""


def livekit_settings(settings: Settings) -> LiveKitSettings:
    """The worker's connection; a missing variable is named in a `SystemExit`."""
    return livekit_connection(settings, "worker")


async def run_worker(
    container: Container,
    stop: asyncio.Event,
    sinks: Sequence[EventSink] = (),
    *,
    ready: asyncio.Event | None = None,
    on_http: Callable[[int], None] = lambda port: None,
) -> None:
    """Serve until `stop` is set, then drain. The container's stack and store are opened
    first (models loaded or keys checked) and closed last; `ready` is set once the worker
    is registered with the server (and set again after each reconnection). The worker's
    `/health` and `/metrics` listen from start-up to the end of the drain (`on_http` is
    told the port)."""
    settings = container.settings()
    connection = livekit_settings(settings)
    container.max_calls.override(providers.Object(settings.worker_max_calls))
    runner: CallRunner = await resolved(container.runner())
    store = await resolved(container.call_store())
    stack = await resolved(container.stack())
    rate = container.sample_rate()
    prompts = container.session_config().prompts
    for line in (prompts.apology, prompts.greeting):  # before taking calls: see CannedSpeech
        await stack.canned.prepare(line, rate)
    metrics = PrometheusMetrics()
    if stack.breakers is not None:
        metrics.watch_breakers(stack.breakers)

    rooms = LiveKitControl(connection)

    async def take(job: AssignedJob) -> None:
        transport = phone_line(job, rate=rate, control=rooms, sip=settings.sip)
        call_sinks: list[EventSink] = [CallLogContext(), metrics, *sinks]
        await runner.run(transport, call_sinks, offered_at=job.received_at)

    worker = AgentWorker(connection, take, max_jobs=settings.worker_max_calls)
    watch_worker(metrics, worker)
    health = health_checker(store.database, container.stack_choice(), stack.probes)
    app = create_worker_app(worker, health, metrics, settings.worker_max_calls)
    try:
        http = bind(app, settings.worker_http_host, settings.worker_http_port, on_http)
    except SystemExit:
        await shut_down(container)
        raise
    http.start()
    serving = asyncio.create_task(worker.run(), name="livekit-worker")
    if ready is not None:
        signal = asyncio.create_task(_when_registered(worker, ready))
        serving.add_done_callback(lambda _: signal.cancel())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()  # a refused key, for one, ends the worker
            return
        log.info("draining: no new calls, %d in progress", len(worker.jobs))
        worker.drain()
        try:
            async with asyncio.timeout(settings.worker_drain_timeout_s):
                await worker.wait_jobs()
        except TimeoutError:
            log.info("drain time over: saying goodbye to %d calls", len(worker.jobs))
            runner.end_calls(goodbye=True)
            try:
                async with asyncio.timeout(GOODBYE_TIMEOUT_S):
                    await worker.wait_jobs()
            except TimeoutError:
                runner.end_calls()
                await worker.wait_jobs()
    finally:
        stopping.cancel()
        serving.cancel()
        await asyncio.gather(serving, stopping, return_exceptions=True)
        await http.stop()
        await rooms.aclose()
        await shut_down(container)


def phone_line(
    job: AssignedJob,
    *,
    rate: int,
    control: LiveKitControl,
    sip: SipSettings,
    room: CallRoom | None = None,
) -> LiveKitCallTransport:
    """The job's call as a line: hung up and transferred through the server's API, a
    transfer ringing for `SIP__TRANSFER_RINGING_TIMEOUT_S` (`room`: tests script it)."""

    async def transfer(room_name: str, identity: str, destination: str) -> None:
        await control.transfer_participant(
            room_name,
            identity,
            destination,
            play_dialtone=sip.transfer_play_dialtone,
            ringing_timeout_s=sip.transfer_ringing_timeout_s,
        )

    return LiveKitCallTransport(
        job.url,
        job.token,
        sample_rate=rate,
        transfer_timeout_s=sip.transfer_ringing_timeout_s + TRANSFER_ANSWER_MARGIN_S,
        room=room,
        remove_participant=control.remove_participant,
        transfer_participant=transfer,
    )


async def _when_registered(worker: AgentWorker, ready: asyncio.Event) -> None:
    await worker.registered.wait()
    ready.set()
