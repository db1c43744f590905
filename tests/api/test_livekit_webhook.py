"""`POST /livekit/webhook` on the `serve` app, on SQLite, with deliveries signed as the LiveKit
server signs them (livekit-api's `AccessToken` with the body's sha256): genuine room and
participant events are stored once each, whatever the retries; anything not signed for
exactly that body is refused (401) and nothing is stored."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from livekit import api
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.webhook import WebhookEvent
from starlette.testclient import TestClient

from tests.databases import migrated_sqlite
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.livekit.webhook import LiveKitWebhookVerifier
from voice_agent.adapters.observability.logging import configure_logging
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.domain.call import Call
from voice_agent.domain.room_events import RoomEvent
from voice_agent.domain.turn import Role, Turn
from voice_agent.entrypoints.bootstrap.health import HealthChecker
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.web.api import ApiDependencies, create_app
from voice_agent.entrypoints.web.api.livekit import MAX_WEBHOOK_BYTES
from voice_agent.entrypoints.web.app import create_server_app

API_KEY = "webhook-test-api-key-0123456789"
LIVEKIT_KEY = "voice-agent-test"
LIVEKIT_SECRET = "webhook-test-secret-at-least-32-characters-long"
ROOM = "call-_+15550100123_aBcD"  # an individual dispatch rule's room: it names the caller
CALLER = "+15550100123"
CREATED = datetime(2026, 11, 26, 9, 30, 15, tzinfo=UTC)
URL = "/livekit/webhook"


def event_json(event: str = "participant_joined", **fields: Any) -> str:
    """A `WebhookEvent` as LiveKit sends it (protobuf JSON)."""
    message = WebhookEvent(
        event=event,
        id=fields.pop("id", "EV_caller_joined"),
        created_at=int(CREATED.timestamp()),
        room=Room(name=fields.pop("room", ROOM), sid="RM_x1"),
        **fields,
    )
    return MessageToJson(message)


def sip_caller() -> ParticipantInfo:
    return ParticipantInfo(
        identity=f"sip_{CALLER}",
        kind=ParticipantInfo.Kind.SIP,
        attributes={
            "sip.callID": "SCL_9rX2kQ",
            "sip.phoneNumber": CALLER,
            "sip.trunkPhoneNumber": "+15550199999",
            "sip.callStatus": "active",
        },
    )


def signed(
    body: str,
    *,
    key: str = LIVEKIT_KEY,
    secret: str = LIVEKIT_SECRET,
    ttl: timedelta = timedelta(minutes=5),
    sha256: str | None = None,
) -> dict[str, str]:
    """The `Authorization` header LiveKit sends: a JWT with the body's sha256 (base64)."""
    digest = sha256 if sha256 is not None else _sha256(body)
    token = api.AccessToken(key, secret).with_ttl(ttl)
    if digest:
        token = token.with_sha256(digest)
    return {"Authorization": token.to_jwt(), "Content-Type": "application/webhook+json"}


def _sha256(body: str) -> str:
    return base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()


AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    return migrated_sqlite(tmp_path)


def serve(database_url: str, **settings: Any) -> TestClient:
    app = create_server_app(
        Settings(
            _env_file=None, stack="fake", database_url=database_url, api_key=API_KEY, **settings
        )
    )
    return TestClient(app)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with serve(
        database_url, livekit_api_key=LIVEKIT_KEY, livekit_api_secret=LIVEKIT_SECRET
    ) as http:
        yield http


def stored(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/livekit/events", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["events"])
    events: list[dict[str, Any]] = body["events"]
    return events


def test_a_phone_caller_joining_is_recorded_with_what_an_auditor_needs(
    client: TestClient,
) -> None:
    body = event_json(participant=sip_caller())
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"id": "EV_caller_joined", "status": "recorded"}
    assert stored(client, room=ROOM) == [
        {
            "id": "EV_caller_joined",
            "type": "participant_joined",
            "room_name": ROOM,
            "created_at": "2026-11-26T09:30:15Z",
            "participant_identity": f"sip_{CALLER}",
            "participant_kind": "sip",
            "sip_call_id": "SCL_9rX2kQ",
            "phone_number": CALLER,
        }
    ]
    assert stored(client, room="another-room") == []


def test_the_log_lines_never_show_the_callers_number(client: TestClient) -> None:
    stream = io.StringIO()
    configure_logging(json=True)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    body = event_json(participant=sip_caller())
    client.post(URL, content=body, headers=signed(body))
    client.post(URL, content=body, headers=signed(body, ttl=timedelta(minutes=-5)))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    logged = [line for line in lines if line["event"].startswith("livekit webhook")]
    assert [(line["event"], line["level"]) for line in logged] == [
        ("livekit webhook", "info"),
        ("livekit webhook refused", "warning"),
    ]
    assert logged[0]["room"] == "call-_***23_aBcD"
    assert (logged[0]["event_id"], logged[1]["reason"]) == (
        "EV_caller_joined",
        "the webhook token has expired",
    )
    assert "5550100123" not in stream.getvalue()


def test_room_events_and_the_agent_are_recorded_in_the_order_they_happened(
    client: TestClient,
) -> None:
    agent = ParticipantInfo(identity="agent-AJ_1", kind=ParticipantInfo.Kind.AGENT)
    deliveries = [
        event_json("room_finished", id="EV_3"),
        event_json("room_started", id="EV_1"),
        event_json("participant_left", id="EV_2", participant=agent),
    ]
    for body in deliveries:
        assert client.post(URL, content=body, headers=signed(body)).status_code == 200
    events = stored(client, room=ROOM)
    # The same second: arrival order (LiveKit's times are whole seconds).
    assert [(e["id"], e["type"]) for e in events] == [
        ("EV_3", "room_finished"),
        ("EV_1", "room_started"),
        ("EV_2", "participant_left"),
    ]
    assert events[2]["participant_kind"] == "agent"
    assert events[0]["participant_identity"] is None


def test_a_retried_delivery_is_stored_once_and_answered_200(client: TestClient) -> None:
    body = event_json(participant=sip_caller())
    first = client.post(URL, content=body, headers=signed(body))
    retry = client.post(URL, content=body, headers=signed(body))
    assert (first.status_code, first.json()["status"]) == (200, "recorded")
    assert (retry.status_code, retry.json()) == (
        200,
        {"id": "EV_caller_joined", "status": "duplicate"},
    )
    assert len(stored(client)) == 1


def _tampered(body: str) -> tuple[str | bytes, dict[str, str]]:
    return body.replace(CALLER, "+15550100999"), signed(body)


Forgery = Callable[[str], tuple[str | bytes, dict[str, str]]]
"""From a genuine event's body: the body and headers sent instead."""

REFUSALS: dict[str, tuple[Forgery, str]] = {
    "bad signature": (
        lambda body: (body, signed(body, secret="another-secret-of-at-least-32-chars!!")),
        "the webhook token is not signed with LIVEKIT_API_SECRET",
    ),
    "tampered body": (
        _tampered,
        "the body is not the one the webhook token was signed for (sha256 mismatch)",
    ),
    "expired token": (
        lambda body: (body, signed(body, ttl=timedelta(minutes=-5))),
        "the webhook token has expired",
    ),
    "missing Authorization": (
        lambda body: (body, {}),
        "missing Authorization header (LiveKit's signed token)",
    ),
    "another API key": (
        lambda body: (body, signed(body, key="someone-else")),
        "the webhook token is not issued for LIVEKIT_API_KEY",
    ),
    "no body hash": (
        lambda body: (body, signed(body, sha256="")),
        "the webhook token carries no body hash (sha256 claim)",
    ),
    "not a token": (
        lambda body: (body, {"Authorization": "not-a-jwt"}),
        "the Authorization header is not a LiveKit token",
    ),
    # Signed for the text a lenient decoding of these bytes would give: still refused.
    "body not UTF-8": (
        lambda body: (body.encode() + b"\xff", signed(body + "\ufffd")),
        "the body is not UTF-8, so not the one the webhook token was signed for",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_delivery_not_signed_for_this_body_is_refused_and_nothing_is_stored(
    client: TestClient, case: str
) -> None:
    forge, reason = REFUSALS[case]
    content, headers = forge(event_json(participant=sip_caller()))
    response = client.post(URL, content=content, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": reason}
    assert stored(client) == []


MALFORMED = {
    "not JSON": ("{not json", "the webhook body is not a LiveKit event: Failed to load JSON"),
    "unknown event": (
        event_json("room_exploded", id="EV_9"),
        "unknown webhook event 'room_exploded': expected one of egress_ended, ",
    ),
    "no event": ('{"id": "EV_9"}', "the webhook body names no event (its `event` field)"),
    "no id": (event_json("room_started", id=""), "the room_started event has no id"),
    "no room": (event_json("room_started", room=""), "the room_started event names no room"),
    "no participant": (
        event_json("participant_left"),
        "the participant_left event names no participant",
    ),
    "a wrong field type": (
        '{"event": "room_started", "createdAt": "soon"}',
        "the webhook body is not a LiveKit event: Failed to parse createdAt field",
    ),
    "an overlong room name": (
        event_json("room_started", room="r" * 300),
        "the room_started event's room_name is longer than 255 characters",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_signed_but_unreadable_event_is_a_400_and_nothing_is_stored(
    client: TestClient, case: str
) -> None:
    body, reason = MALFORMED[case]
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(reason)
    assert stored(client) == []


def test_livekit_events_that_are_not_audited_are_acknowledged_not_stored(
    client: TestClient,
) -> None:
    body = event_json("track_published", id="EV_track", participant=sip_caller())
    response = client.post(URL, content=body, headers=signed(body))
    assert (response.status_code, response.json()) == (200, {"id": None, "status": "ignored"})
    assert stored(client) == []


def test_a_body_over_the_cap_is_a_413_whether_its_length_is_declared_or_streamed(
    client: TestClient,
) -> None:
    body = event_json(participant=sip_caller(), id="EV_" + "x" * MAX_WEBHOOK_BYTES)
    expected = {"detail": f"the webhook body is over {MAX_WEBHOOK_BYTES} bytes"}
    declared = client.post(URL, content=body, headers=signed(body))
    assert (declared.status_code, declared.json()) == (413, expected)

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        data = body.encode()
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    streamed = client.post(URL, content=chunks(), headers=signed(body))
    assert (streamed.status_code, streamed.json()) == (413, expected)
    assert stored(client) == []


def test_the_calls_stay_as_they_were_stored(client: TestClient, database_url: str) -> None:
    call = Call(caller_number=CALLER, started_at=CREATED)

    async def store_call() -> None:
        database = Database(database_url)
        try:
            repository = SqlAlchemyCallRepository(database)
            await repository.save_call(call)
            await repository.save_turn(call.id, Turn(Role.CALLER, "hello", 0, CREATED))
        finally:
            await database.dispose()

    asyncio.run(store_call())
    before = client.get(f"/calls/{call.id}", headers=AUTH).json()
    for n, kind in enumerate(["participant_left", "room_finished"]):
        body = event_json(kind, id=f"EV_{n}", room=call.id, participant=sip_caller())
        assert client.post(URL, content=body, headers=signed(body)).status_code == 200
    assert client.get(f"/calls/{call.id}", headers=AUTH).json() == before
    assert before["status"] == "active"
    assert len(stored(client, room=call.id)) == 2


def test_the_event_list_needs_the_api_key(client: TestClient) -> None:
    response = client.get("/livekit/events")
    assert (response.status_code, response.json()) == (401, {"detail": "missing bearer token"})


def test_without_the_livekit_key_and_secret_the_webhook_says_it_is_disabled(
    database_url: str,
) -> None:
    with serve(database_url) as client:
        body = event_json(participant=sip_caller())
        response = client.post(URL, content=body, headers=signed(body))
        assert (response.status_code, response.json()) == (
            503,
            {"detail": "LiveKit webhooks are disabled: set LIVEKIT_API_KEY and LIVEKIT_API_SECRET"},
        )
        assert stored(client) == []


class UnavailableStore(InMemoryCallRepository):
    async def record_room_event(self, event: RoomEvent) -> bool:
        raise ProviderUnavailable("database", "database is locked")


async def test_a_store_that_is_down_answers_503_so_livekit_retries() -> None:
    app = create_app(
        ApiDependencies(
            repository=UnavailableStore(),
            metrics=PrometheusMetrics(),
            health=HealthChecker({}),
            config_status=dict,
            api_key=API_KEY,
            livekit_webhook=LiveKitWebhookVerifier(LIVEKIT_KEY, LIVEKIT_SECRET),
        )
    )
    body = event_json(participant=sip_caller())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        response = await http.post(URL, content=body, headers=signed(body))
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "the event store is unavailable: the delivery can be retried"},
    )
