"""`AgentWorker`: the worker side of LiveKit's agent dispatch protocol.

The worker holds one WebSocket to `<url>/agent` (a JWT with the `agent` grant), registers
under its agent name, and then, for each call the server wants to hand out: answers the
`availability` request (no when draining, at `max_jobs`, or when the optional `load`
measure reaches `full_at_load`),
runs the `assignment` through `handle` (which joins the room with the server's token and
runs the call), and reports the job `running`, then `success` or `failed`. Every
`status_interval_s` it reports its load (`WS_FULL` once it takes no more) and pings. A
`termination` cancels the job's handler; a `go_away` drains. When the socket drops, it
reconnects with a growing pause, registers again and re-reports the jobs in progress, which
go on meanwhile (their calls do not depend on this socket).

Protocol: protobuf `WorkerMessage` / `ServerMessage` from `livekit.protocol.agent`, as
LiveKit's own agent workers speak it (not documented as a stable API: the versions are pinned).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from livekit import api
from livekit.protocol import agent, models

from voice_agent.adapters.livekit.settings import LiveKitSettings
from voice_agent.application.ports.errors import ProviderAuthError, ProviderUnavailable

log = logging.getLogger(__name__)
PROVIDER = "livekit"
VERSION = "1"


@dataclass(frozen=True, slots=True)
class AssignedJob:
    """A call the server handed to this worker: join `room` at `url` with `token`."""

    id: str
    room: str
    url: str
    token: str = field(repr=False)
    """A room token the server minted for this job: a secret."""
    received_at: float = 0.0
    """When the assignment arrived (the event loop's time): the call's line was offered."""


JobHandler = Callable[[AssignedJob], Awaitable[None]]


class AgentWorker:
    def __init__(
        self,
        settings: LiveKitSettings,
        handle: JobHandler,
        *,
        max_jobs: int,
        load: Callable[[], float] | None = None,
    ) -> None:
        self._settings = settings
        self._handle = handle
        self._max_jobs = max_jobs
        self._load = load
        """Another measure of load (e.g. CPU), 0..1; by default only the calls count."""
        self.jobs: dict[str, asyncio.Task[None]] = {}
        self.worker_id: str | None = None
        self.draining = False
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self.registered = asyncio.Event()
        self._report_now = asyncio.Event()
        """Set to send the status report at once instead of at the next interval."""

    # -- public ----------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the server until cancelled; reconnects when the socket drops. A refused
        key raises `ProviderAuthError` (it will not work on a second try)."""
        pause = 0.5
        while True:
            try:
                await self._serve_once()
                pause = 0.5
            except ProviderAuthError:
                raise
            except (aiohttp.ClientError, TimeoutError, ConnectionError) as error:
                log.warning(
                    "livekit dispatch connection lost: %s; retrying in %.1f s", error, pause
                )
            self.registered.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._settings.reconnect_max_s)

    def drain(self) -> None:
        """Take no new job, and tell the server at once (a status report `WS_FULL`,
        draining), so it stops offering jobs now rather than at the next interval; jobs in
        progress go on."""
        self.draining = True
        self._report_now.set()

    async def wait_jobs(self) -> None:
        """Return once no job is in progress. Cancelling the wait (a drain's timeout) leaves
        the jobs running (`asyncio.wait`, not `gather`, which would cancel them)."""
        while self.jobs:
            await asyncio.wait(set(self.jobs.values()))

    @property
    def full(self) -> bool:
        return (
            self.draining
            or len(self.jobs) >= self._max_jobs
            or (self._load is not None and self._load() >= self._settings.full_at_load)
        )

    def _current_load(self) -> float:
        """The load to report, 0..1: how full the worker is (its calls against `max_jobs`,
        its other measure against `full_at_load`), scaled to the server's target load. The
        server offers no job to a worker that reports its target load or more, so reporting
        calls / max_jobs would leave the last ~30 % of the capacity idle: with 8 calls a
        worker, the server stopped at 6 and the 7th and 8th callers never got an agent."""
        fullness = len(self.jobs) / max(self._max_jobs, 1)
        if self._load is not None:
            fullness = max(fullness, self._load() / self._settings.full_at_load)
        return fullness * self._settings.server_target_load

    # -- one connection --------------------------------------------------------------
    async def _serve_once(self) -> None:
        headers = {"Authorization": f"Bearer {self._token()}"}
        async with aiohttp.ClientSession() as session:
            try:
                socket = await session.ws_connect(
                    f"{_websocket_url(self._settings.url)}/agent", headers=headers, heartbeat=None
                )
            except aiohttp.WSServerHandshakeError as error:
                if error.status in (401, 403):
                    raise ProviderAuthError(
                        PROVIDER, f"the server refused the key ({error.status})"
                    ) from None
                raise ProviderUnavailable(PROVIDER, f"handshake refused ({error.status})") from None
            self._socket = socket
            try:
                await self._register(socket)
                for job_id in list(self.jobs):  # a new connection learns the jobs in progress
                    await self._job_status(job_id, agent.JS_RUNNING)
                reporter = asyncio.create_task(self._report_status(), name="livekit-status")
                try:
                    await self._read(socket)
                finally:
                    reporter.cancel()
                    await asyncio.gather(reporter, return_exceptions=True)
            finally:
                self._socket = None
                await socket.close()

    def _token(self) -> str:
        return (
            api.AccessToken(self._settings.api_key, self._settings.api_secret)
            .with_identity(f"worker-{self._settings.agent_name}")
            .with_grants(api.VideoGrants(agent=True))
            .to_jwt()
        )

    async def _register(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        await self._send(
            agent.WorkerMessage(
                register=agent.RegisterWorkerRequest(
                    type=agent.JT_ROOM,
                    agent_name=self._settings.agent_name,
                    version=VERSION,
                    allowed_permissions=models.ParticipantPermission(
                        can_publish=True,
                        can_subscribe=True,
                        can_publish_data=True,
                        can_update_metadata=True,
                        agent=True,
                    ),
                )
            )
        )
        async with asyncio.timeout(self._settings.register_timeout_s):
            while True:
                message = await self._receive(socket)
                if message is None:
                    raise ConnectionError("the server closed the socket before registering")
                if message.HasField("register"):
                    self.worker_id = message.register.worker_id
                    self.registered.set()
                    log.info("registered with livekit as worker %s", self.worker_id)
                    return

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        while (message := await self._receive(socket)) is not None:
            kind = message.WhichOneof("message")
            if kind == "availability":
                await self._answer_availability(message.availability)
            elif kind == "assignment":
                self._start(message.assignment)
            elif kind == "termination":
                task = self.jobs.get(message.termination.job_id)
                if task is not None:
                    task.cancel()
            elif kind == "go_away":
                log.info("livekit asked this worker to go away: draining")
                self.drain()
        raise ConnectionError("the server closed the dispatch socket")

    async def _answer_availability(self, request: agent.AvailabilityRequest) -> None:
        job = request.job
        available = not self.full
        await self._send(
            agent.WorkerMessage(
                availability=agent.AvailabilityResponse(
                    job_id=job.id,
                    available=available,
                    participant_identity=f"agent-{job.id}",
                    participant_name="agent",
                )
            )
        )

    def _start(self, assignment: agent.JobAssignment) -> None:
        job = AssignedJob(
            id=assignment.job.id,
            room=assignment.job.room.name,
            url=assignment.url or self._settings.url,
            token=assignment.token,
            received_at=asyncio.get_running_loop().time(),
        )
        self.jobs[job.id] = asyncio.create_task(self._run_job(job), name=f"job-{job.id}")
        self._report_now.set()  # the server learns at once that this worker may be full

    async def _run_job(self, job: AssignedJob) -> None:
        try:
            await self._job_status(job.id, agent.JS_RUNNING)
            await self._handle(job)
        except asyncio.CancelledError:
            await self._job_status(job.id, agent.JS_FAILED, "terminated")
        except Exception as error:
            log.exception("job %s failed", job.id)
            await self._job_status(job.id, agent.JS_FAILED, type(error).__name__)
        else:
            await self._job_status(job.id, agent.JS_SUCCESS)
        finally:
            self.jobs.pop(job.id, None)
            # At once, not at the next interval: a worker at capacity that stays reported
            # full after its call ends makes the server drop the next call ("no worker").
            self._report_now.set()

    async def _job_status(self, job_id: str, status: int, error: str = "") -> None:
        message = agent.UpdateJobStatus(job_id=job_id, status=status, error=error)  # type: ignore[arg-type]
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await self._send(agent.WorkerMessage(update_job=message))

    async def _report_status(self) -> None:
        while True:
            self._report_now.clear()
            load = min(max(self._current_load(), 0.0), 1.0)
            await self._send(
                agent.WorkerMessage(
                    update_worker=agent.UpdateWorkerStatus(
                        status=agent.WS_FULL if self.full else agent.WS_AVAILABLE,
                        load=load,
                        job_count=len(self.jobs),
                        draining=self.draining,
                    )
                )
            )
            await self._send(
                agent.WorkerMessage(ping=agent.WorkerPing(timestamp=int(time.time() * 1000)))
            )
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
            # that arrives as the event is set (drain() then the connection closing), and
            # this task would never end.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.status_interval_s):
                    await self._report_now.wait()

    # -- the wire --------------------------------------------------------------------
    async def _send(self, message: agent.WorkerMessage) -> None:
        if self._socket is None or self._socket.closed:
            raise ConnectionError("not connected to the livekit server")
        await self._socket.send_bytes(message.SerializeToString())

    @staticmethod
    async def _receive(socket: aiohttp.ClientWebSocketResponse) -> agent.ServerMessage | None:
        while True:
            frame = await socket.receive()
            if frame.type == aiohttp.WSMsgType.BINARY:
                return agent.ServerMessage.FromString(frame.data)
            if frame.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return None
            log.debug("ignoring a %s frame on the dispatch socket", frame.type)


def _websocket_url(url: str) -> str:
    url = url.rstrip("/")
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    return url
