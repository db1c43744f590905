"""The LiveKit server's side of the agent dispatch protocol (`/agent`), on loopback.

It checks the worker's JWT (the `agent` grant, signed with the server's secret), registers
it, and lets a test dispatch jobs, terminate them, send `go_away` or drop the socket, while
recording what the worker reported (availability answers, job statuses, worker statuses).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from aiohttp import web
from livekit import api
from livekit.protocol import agent, models

from fake_servers.base import LoopbackServer

TARGET_LOAD = 0.7
"""livekit-server's `agents.target_load` default: it offers no job to a worker whose last
reported load has reached it (`JobRequestAffinity`: target load minus the worker's load),
whatever its status says; a lone worker's job then fails "no servers available"."""
_TARGET_LOAD_F32 = struct.unpack("f", struct.pack("f", TARGET_LOAD))[0]
"""The server compares in float32, as the load travels (`UpdateWorkerStatus.load`)."""
API_KEY = "devkey-for-tests"
API_SECRET = "a-secret-long-enough-for-hmac-sha256-tests"


@dataclass
class WorkerConnection:
    agent_name: str
    socket: web.WebSocketResponse
    availability: list[agent.AvailabilityResponse] = field(default_factory=list)
    job_statuses: list[tuple[str, int, str]] = field(default_factory=list)
    worker_statuses: list[agent.UpdateWorkerStatus] = field(default_factory=list)
    pings: int = 0


class FakeLiveKitDispatch(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.workers: list[WorkerConnection] = []
        self.refused: list[str] = []
        self.not_offered: list[str] = []
        """Rooms whose job no worker was asked about: its reported load had reached
        `TARGET_LOAD`, as the real server decides."""
        self._jobs = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/agent", self._agent)]

    @property
    def worker(self) -> WorkerConnection:
        return self.workers[-1]

    async def _agent(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = api.TokenVerifier(API_KEY, API_SECRET).verify(token)
        except Exception as error:
            self.refused.append(type(error).__name__)
            return web.Response(status=401, text="invalid token")
        if not (claims.video and claims.video.agent):
            self.refused.append("no agent grant")
            return web.Response(status=403, text="the agent grant is required")
        socket = web.WebSocketResponse(compress=False)
        await socket.prepare(request)
        first = agent.WorkerMessage.FromString(await socket.receive_bytes())
        connection = WorkerConnection(first.register.agent_name, socket)
        self.workers.append(connection)
        await self._send(
            socket,
            agent.ServerMessage(
                register=agent.RegisterWorkerResponse(worker_id=f"W{len(self.workers)}")
            ),
        )
        await self.notify()
        async for frame in socket:
            message = agent.WorkerMessage.FromString(frame.data)
            kind = message.WhichOneof("message")
            if kind == "availability":
                connection.availability.append(message.availability)
            elif kind == "update_job":
                job = message.update_job
                connection.job_statuses.append((job.job_id, job.status, job.error))
            elif kind == "update_worker":
                connection.worker_statuses.append(message.update_worker)
            elif kind == "ping":
                connection.pings += 1
                await self._send(
                    socket,
                    agent.ServerMessage(
                        pong=agent.WorkerPong(last_timestamp=message.ping.timestamp)
                    ),
                )
            await self.notify()
        return socket

    async def dispatch(
        self, room: str, *, url: str | None = None, token: str | None = None
    ) -> tuple[str, bool]:
        """Offer a job in `room` to the worker; assign it if the worker is available, with
        `url` and `token` for the room (by default this server and a dummy token: a test
        with a real LiveKit server for the room mints the token itself). Returns the job id
        and whether it was assigned. A worker whose last reported load reached
        `TARGET_LOAD` is not asked at all (`not_offered`), as with the real server."""
        self._jobs += 1
        job = agent.Job(
            id=f"J{self._jobs}",
            type=agent.JT_ROOM,
            room=models.Room(name=room),
            agent_name=self.worker.agent_name,
        )
        connection = self.worker
        if connection.worker_statuses and connection.worker_statuses[-1].load >= _TARGET_LOAD_F32:
            self.not_offered.append(room)
            return job.id, False
        answered = len(connection.availability)
        await self._send(
            connection.socket, agent.ServerMessage(availability=agent.AvailabilityRequest(job=job))
        )
        await self.wait_until(lambda: len(connection.availability) > answered)
        if not connection.availability[-1].available:
            return job.id, False
        await self._send(
            connection.socket,
            agent.ServerMessage(
                assignment=agent.JobAssignment(
                    job=job, url=url or self.ws_url, token=token or f"room-{room}"
                )
            ),
        )
        return job.id, True

    async def terminate(self, job_id: str) -> None:
        await self._send(
            self.worker.socket,
            agent.ServerMessage(termination=agent.JobTermination(job_id=job_id)),
        )

    async def go_away(self) -> None:
        await self._send(self.worker.socket, agent.ServerMessage(go_away=agent.AgentHttp.GoAway()))

    async def drop(self) -> None:
        """Close the worker's socket, as a server restart would."""
        await self.worker.socket.close()

    def statuses(self, job_id: str) -> list[int]:
        return [status for job, status, _ in self.worker.job_statuses if job == job_id]

    @staticmethod
    async def _send(socket: web.WebSocketResponse, message: agent.ServerMessage) -> None:
        await socket.send_bytes(message.SerializeToString())
