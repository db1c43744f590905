"""The LiveKit server's Twirp API (`POST /twirp/livekit.<Service>/<Method>`), on loopback.

It answers the SIP, RoomService and AgentDispatchService methods the control adapter calls,
with protobuf bodies as the real server does, after checking the JWT bearer (signed with the
server's secret, carrying the grant each method needs). It keeps state (inbound and outbound
trunks, dispatch rules, rooms, participants, agent dispatches) and records every method
called, and it has fault knobs: the SIP status a transfer or a dial answers with, a server
error, slowness.

Errors are Twirp's JSON (`{"code", "msg", "meta"}`) with the HTTP status Twirp gives each
code. A SIP failure is reported as LiveKit's `SIPStatus` error is (livekit/protocol
`livekit/sip.go`): the gRPC code its SIP status maps to, the message `sip status 486: Busy
Here`, and meta `sip_status_code` / `sip_status`.

`FakeLiveKit` serves this API and the `/agent` dispatch socket (fake_servers/livekit_agent.py)
on one address, as the worker meets them behind one `LIVEKIT_URL`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from google.protobuf.message import Message
from livekit import api
from livekit.api.access_token import Claims
from livekit.protocol import agent_dispatch, models, room, sip

from fake_servers.base import LoopbackServer
from fake_servers.livekit_agent import API_KEY, API_SECRET, FakeLiveKitDispatch

TWIRP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}
"""HTTP status of each Twirp error code (the Twirp v7 spec)."""

SIP_STATUSES: dict[int, tuple[str, str]] = {
    403: ("Forbidden", "permission_denied"),
    404: ("Not Found", "not_found"),
    408: ("Request Timeout", "deadline_exceeded"),
    480: ("Temporarily Unavailable", "resource_exhausted"),
    486: ("Busy Here", "resource_exhausted"),
    487: ("Request Terminated", "aborted"),
    500: ("Internal Server Error", "failed_precondition"),
    503: ("Service Unavailable", "failed_precondition"),
    600: ("Busy Everywhere", "resource_exhausted"),
    603: ("Decline", "permission_denied"),
}
"""Reason phrase and Twirp code of the SIP statuses the knobs use (livekit/sip.go's map)."""


class TwirpFailure(Exception):
    def __init__(self, code: str, message: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.meta = meta or {}


def sip_failure(status: int) -> TwirpFailure:
    phrase, code = SIP_STATUSES.get(status, ("Unknown", "unknown"))
    return TwirpFailure(
        code,
        f"sip status {status}: {phrase}",
        {"sip_status_code": str(status), "sip_status": phrase},
    )


Grant = Callable[[Claims, Message], bool]


def _sip_admin(claims: Claims, _: Message) -> bool:
    return bool(claims.sip and claims.sip.admin)


def _sip_call(claims: Claims, _: Message) -> bool:
    return bool(claims.sip and claims.sip.call)


def _room_create(claims: Claims, _: Message) -> bool:
    return bool(claims.video and claims.video.room_create)


def _room_list(claims: Claims, _: Message) -> bool:
    return bool(claims.video and claims.video.room_list)


def _room_admin(claims: Claims, request: Message) -> bool:
    video = claims.video
    wanted = getattr(request, "room", "") or getattr(request, "room_name", "")
    return bool(video and video.room_admin and (not video.room or video.room == wanted))


def _transfer(claims: Claims, request: Message) -> bool:
    return _sip_call(claims, request) and _room_admin(claims, request)


@dataclass
class FakeRoom:
    info: models.Room
    participants: dict[str, models.ParticipantInfo] = field(default_factory=dict)


@dataclass
class Method:
    request: type[Message]
    grant: Grant
    handle: Callable[[Any], Awaitable[Message]]


class FakeLiveKitTwirp(LoopbackServer):
    """State is public for tests to read and arrange; `calls` lists `Service/Method` in order."""

    def __init__(self) -> None:
        super().__init__()
        self.inbound_trunks: dict[str, sip.SIPInboundTrunkInfo] = {}
        self.outbound_trunks: dict[str, sip.SIPOutboundTrunkInfo] = {}
        self.dispatch_rules: dict[str, sip.SIPDispatchRuleInfo] = {}
        self.rooms: dict[str, FakeRoom] = {}
        self.dispatches: dict[str, list[agent_dispatch.AgentDispatch]] = {}
        self.transfers: list[sip.TransferSIPParticipantRequest] = []
        self.dials: list[sip.CreateSIPParticipantRequest] = []
        self.calls: list[str] = []
        self.refused: list[str] = []
        # -- fault knobs --
        self.transfer_status: int | None = None
        """The SIP status a transfer fails with (486, 603, 408...); None: it succeeds."""
        self.transfer_reason: str | None = None
        """A transfer fails with only this `sip_transfer_reason` (e.g. STR_RINGING_TIMEOUT),
        no SIP status, as newer SIP services report a transfer nobody answered."""
        self.failed_response: tuple[int, int] | None = None
        """A transfer answered without an error but with status STS_TRANSFER_FAILED, this
        SIP status (0: none) and this `SIPTransferReason`, as livekit-api warns can happen."""
        self.dial_status: int | None = None
        """The SIP status a dial (CreateSIPParticipant) fails with; None: answered."""
        self.server_error: str | None = None
        """Every method answers a Twirp `internal` error with this message."""
        self.delay_s = 0.0
        """How long every method takes before answering."""
        self._ids = itertools.count(1)
        self._methods = self._table()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/twirp/livekit.{service}/{method}", self._twirp)]

    # -- arranging state ---------------------------------------------------------------
    def add_participant(
        self, room_name: str, identity: str, kind: int = models.ParticipantInfo.SIP
    ) -> None:
        """A participant in `room_name` (created if need be), by default a SIP caller."""
        fake = self._room(room_name)
        fake.participants[identity] = models.ParticipantInfo(
            sid=f"PA_{next(self._ids)}",
            identity=identity,
            kind=kind,  # type: ignore[arg-type]
        )

    def add_outbound_trunk(self, name: str = "novofon-out") -> str:
        trunk_id = f"ST_out{next(self._ids)}"
        self.outbound_trunks[trunk_id] = sip.SIPOutboundTrunkInfo(
            sip_trunk_id=trunk_id, name=name, address="sip.example.net", numbers=["+15550100100"]
        )
        return trunk_id

    # -- the wire ------------------------------------------------------------------------
    async def _twirp(self, request: web.Request) -> web.Response:
        name = f"{request.match_info['service']}/{request.match_info['method']}"
        method = self._methods.get(name)
        if method is None:
            return _error(TwirpFailure("bad_route", f"no handler for path {request.path}"))
        body = method.request.FromString(await request.read())
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = api.TokenVerifier(API_KEY, API_SECRET).verify(token)
        except Exception as error:
            self.refused.append(f"{name}: {type(error).__name__}")
            return _error(TwirpFailure("unauthenticated", "invalid token"))
        if not method.grant(claims, body):
            self.refused.append(f"{name}: grant")
            return _error(TwirpFailure("permission_denied", "permissions denied"))
        self.calls.append(name)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.server_error is not None:
            return _error(TwirpFailure("internal", self.server_error))
        try:
            answer = await method.handle(body)
        except TwirpFailure as failure:
            return _error(failure)
        finally:
            await self.notify()
        return web.Response(body=answer.SerializeToString(), content_type="application/protobuf")

    def _table(self) -> dict[str, Method]:
        return {
            "SIP/CreateSIPInboundTrunk": Method(
                sip.CreateSIPInboundTrunkRequest, _sip_admin, self._create_inbound_trunk
            ),
            "SIP/UpdateSIPInboundTrunk": Method(
                sip.UpdateSIPInboundTrunkRequest, _sip_admin, self._update_inbound_trunk
            ),
            "SIP/ListSIPInboundTrunk": Method(
                sip.ListSIPInboundTrunkRequest, _sip_admin, self._list_inbound_trunks
            ),
            "SIP/ListSIPOutboundTrunk": Method(
                sip.ListSIPOutboundTrunkRequest, _sip_admin, self._list_outbound_trunks
            ),
            "SIP/DeleteSIPTrunk": Method(sip.DeleteSIPTrunkRequest, _sip_admin, self._delete_trunk),
            "SIP/CreateSIPDispatchRule": Method(
                sip.CreateSIPDispatchRuleRequest, _sip_admin, self._create_rule
            ),
            "SIP/UpdateSIPDispatchRule": Method(
                sip.UpdateSIPDispatchRuleRequest, _sip_admin, self._update_rule
            ),
            "SIP/ListSIPDispatchRule": Method(
                sip.ListSIPDispatchRuleRequest, _sip_admin, self._list_rules
            ),
            "SIP/DeleteSIPDispatchRule": Method(
                sip.DeleteSIPDispatchRuleRequest, _sip_admin, self._delete_rule
            ),
            "SIP/CreateSIPParticipant": Method(
                sip.CreateSIPParticipantRequest, _sip_call, self._create_participant
            ),
            "SIP/TransferSIPParticipant": Method(
                sip.TransferSIPParticipantRequest, _transfer, self._transfer
            ),
            "RoomService/CreateRoom": Method(
                room.CreateRoomRequest, _room_create, self._create_room
            ),
            "RoomService/DeleteRoom": Method(
                room.DeleteRoomRequest, _room_create, self._delete_room
            ),
            "RoomService/ListRooms": Method(room.ListRoomsRequest, _room_list, self._list_rooms),
            "RoomService/ListParticipants": Method(
                room.ListParticipantsRequest, _room_admin, self._list_participants
            ),
            "RoomService/RemoveParticipant": Method(
                room.RoomParticipantIdentity, _room_admin, self._remove_participant
            ),
            "AgentDispatchService/CreateDispatch": Method(
                agent_dispatch.CreateAgentDispatchRequest, _room_admin, self._create_dispatch
            ),
            "AgentDispatchService/ListDispatch": Method(
                agent_dispatch.ListAgentDispatchRequest, _room_admin, self._list_dispatch
            ),
        }

    # -- SIP: trunks and rules ----------------------------------------------------------
    async def _create_inbound_trunk(
        self, request: sip.CreateSIPInboundTrunkRequest
    ) -> sip.SIPInboundTrunkInfo:
        trunk = request.trunk
        if not (trunk.numbers or trunk.allowed_addresses or trunk.auth_username):
            raise TwirpFailure(
                "invalid_argument",
                "for security, one of the fields must be set: AuthUsername+AuthPassword, "
                "AllowedAddresses or Numbers",
            )
        info = sip.SIPInboundTrunkInfo()
        info.CopyFrom(trunk)
        info.sip_trunk_id = f"ST_in{next(self._ids)}"
        self.inbound_trunks[info.sip_trunk_id] = info
        return info

    async def _update_inbound_trunk(
        self, request: sip.UpdateSIPInboundTrunkRequest
    ) -> sip.SIPInboundTrunkInfo:
        if request.sip_trunk_id not in self.inbound_trunks:
            raise TwirpFailure("not_found", "requested sip trunk does not exist")
        if request.WhichOneof("action") != "replace":
            raise TwirpFailure("unimplemented", "the fake replaces trunks only")
        info = sip.SIPInboundTrunkInfo()
        info.CopyFrom(request.replace)
        info.sip_trunk_id = request.sip_trunk_id
        self.inbound_trunks[info.sip_trunk_id] = info
        return info

    async def _list_inbound_trunks(
        self, _: sip.ListSIPInboundTrunkRequest
    ) -> sip.ListSIPInboundTrunkResponse:
        return sip.ListSIPInboundTrunkResponse(items=list(self.inbound_trunks.values()))

    async def _list_outbound_trunks(
        self, _: sip.ListSIPOutboundTrunkRequest
    ) -> sip.ListSIPOutboundTrunkResponse:
        return sip.ListSIPOutboundTrunkResponse(items=list(self.outbound_trunks.values()))

    async def _delete_trunk(self, request: sip.DeleteSIPTrunkRequest) -> sip.SIPTrunkInfo:
        if self.inbound_trunks.pop(request.sip_trunk_id, None) is None:
            raise TwirpFailure("not_found", "requested sip trunk does not exist")
        return sip.SIPTrunkInfo(sip_trunk_id=request.sip_trunk_id)

    async def _create_rule(
        self, request: sip.CreateSIPDispatchRuleRequest
    ) -> sip.SIPDispatchRuleInfo:
        info = sip.SIPDispatchRuleInfo()
        info.CopyFrom(request.dispatch_rule)
        info.sip_dispatch_rule_id = f"SDR_{next(self._ids)}"
        self.dispatch_rules[info.sip_dispatch_rule_id] = info
        return info

    async def _update_rule(
        self, request: sip.UpdateSIPDispatchRuleRequest
    ) -> sip.SIPDispatchRuleInfo:
        if request.sip_dispatch_rule_id not in self.dispatch_rules:
            raise TwirpFailure("not_found", "requested sip dispatch rule does not exist")
        if request.WhichOneof("action") != "replace":
            raise TwirpFailure("unimplemented", "the fake replaces rules only")
        info = sip.SIPDispatchRuleInfo()
        info.CopyFrom(request.replace)
        info.sip_dispatch_rule_id = request.sip_dispatch_rule_id
        self.dispatch_rules[info.sip_dispatch_rule_id] = info
        return info

    async def _list_rules(
        self, _: sip.ListSIPDispatchRuleRequest
    ) -> sip.ListSIPDispatchRuleResponse:
        return sip.ListSIPDispatchRuleResponse(items=list(self.dispatch_rules.values()))

    async def _delete_rule(
        self, request: sip.DeleteSIPDispatchRuleRequest
    ) -> sip.SIPDispatchRuleInfo:
        rule = self.dispatch_rules.pop(request.sip_dispatch_rule_id, None)
        if rule is None:
            raise TwirpFailure("not_found", "requested sip dispatch rule does not exist")
        return rule

    # -- SIP: calls ----------------------------------------------------------------------
    async def _create_participant(
        self, request: sip.CreateSIPParticipantRequest
    ) -> sip.SIPParticipantInfo:
        self.dials.append(request)
        if request.sip_trunk_id not in self.outbound_trunks:
            raise TwirpFailure("not_found", "requested sip trunk does not exist")
        if self.dial_status is not None:
            raise sip_failure(self.dial_status)
        identity = request.participant_identity or f"sip_{request.sip_call_to}"
        self.add_participant(request.room_name, identity)
        return sip.SIPParticipantInfo(
            participant_id=self._room(request.room_name).participants[identity].sid,
            participant_identity=identity,
            room_name=request.room_name,
            sip_call_id=f"SCL_{next(self._ids)}",
        )

    async def _transfer(self, request: sip.TransferSIPParticipantRequest) -> Message:
        self.transfers.append(request)
        participant = self._participant(request.room_name, request.participant_identity)
        if participant.kind != models.ParticipantInfo.SIP:
            raise TwirpFailure("failed_precondition", "participant is not a SIP participant")
        if self.transfer_status is not None:
            raise sip_failure(self.transfer_status)
        if self.transfer_reason is not None:
            raise TwirpFailure(
                "deadline_exceeded" if "TIMEOUT" in self.transfer_reason else "unavailable",
                "transfer failed",
                {"sip_transfer_reason": self.transfer_reason},
            )
        if self.failed_response is not None:
            code, reason = self.failed_response
            return sip.TransferSIPParticipantResponse(
                transfer_id=f"STR_{next(self._ids)}",
                status=sip.STS_TRANSFER_FAILED,
                reason=reason,  # type: ignore[arg-type]
                sip_status=sip.SIPStatus(code=code) if code else None,  # type: ignore[arg-type]
            )
        del self.rooms[request.room_name].participants[request.participant_identity]
        return sip.TransferSIPParticipantResponse(
            transfer_id=f"STR_{next(self._ids)}",
            status=sip.STS_TRANSFER_SUCCESSFUL,
            reason=sip.STR_COMPLETED,
        )

    # -- rooms and dispatches -------------------------------------------------------------
    def _room(self, name: str) -> FakeRoom:
        if name not in self.rooms:
            self.rooms[name] = FakeRoom(models.Room(sid=f"RM_{next(self._ids)}", name=name))
        return self.rooms[name]

    def _participant(self, room_name: str, identity: str) -> models.ParticipantInfo:
        fake = self.rooms.get(room_name)
        if fake is None or identity not in fake.participants:  # the real server's words
            raise TwirpFailure("not_found", "twirp error unknown: participant does not exist")
        return fake.participants[identity]

    async def _create_room(self, request: room.CreateRoomRequest) -> models.Room:
        fake = self._room(request.name)
        for wanted in request.agents:
            self.dispatches.setdefault(request.name, []).append(
                agent_dispatch.AgentDispatch(
                    id=f"AD_{next(self._ids)}", agent_name=wanted.agent_name, room=request.name
                )
            )
        return fake.info

    async def _delete_room(self, request: room.DeleteRoomRequest) -> room.DeleteRoomResponse:
        if self.rooms.pop(request.room, None) is None:
            raise TwirpFailure("not_found", "requested room does not exist")
        self.dispatches.pop(request.room, None)
        return room.DeleteRoomResponse()

    async def _list_rooms(self, request: room.ListRoomsRequest) -> room.ListRoomsResponse:
        names = set(request.names)
        return room.ListRoomsResponse(
            rooms=[r.info for n, r in self.rooms.items() if not names or n in names]
        )

    async def _list_participants(
        self, request: room.ListParticipantsRequest
    ) -> room.ListParticipantsResponse:
        fake = self.rooms.get(request.room)
        if fake is None:
            raise TwirpFailure("not_found", "requested room does not exist")
        return room.ListParticipantsResponse(participants=list(fake.participants.values()))

    async def _remove_participant(
        self, request: room.RoomParticipantIdentity
    ) -> room.RemoveParticipantResponse:
        self._participant(request.room, request.identity)
        del self.rooms[request.room].participants[request.identity]
        return room.RemoveParticipantResponse()

    async def _create_dispatch(
        self, request: agent_dispatch.CreateAgentDispatchRequest
    ) -> agent_dispatch.AgentDispatch:
        dispatch = agent_dispatch.AgentDispatch(
            id=f"AD_{next(self._ids)}", agent_name=request.agent_name, room=request.room
        )
        self._room(request.room)
        self.dispatches.setdefault(request.room, []).append(dispatch)
        return dispatch

    async def _list_dispatch(
        self, request: agent_dispatch.ListAgentDispatchRequest
    ) -> agent_dispatch.ListAgentDispatchResponse:
        return agent_dispatch.ListAgentDispatchResponse(
            agent_dispatches=self.dispatches.get(request.room, [])
        )


def _error(failure: TwirpFailure) -> web.Response:
    body: dict[str, Any] = {"code": failure.code, "msg": failure.message}
    if failure.meta:
        body["meta"] = failure.meta
    return web.json_response(body, status=TWIRP_STATUS[failure.code])


class FakeLiveKit(FakeLiveKitDispatch, FakeLiveKitTwirp):
    """Both sides on one address, as one LiveKit server: the worker's `/agent` socket and the
    Twirp API its calls use (hang-up, transfer) share `LIVEKIT_URL`."""

    def routes(self) -> list[web.RouteDef]:
        return FakeLiveKitDispatch.routes(self) + FakeLiveKitTwirp.routes(self)
