from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import T0, Probes, api_client, auth
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.adapters.sqlalchemy import Database, SqlAlchemyCallRepository
from voice_agent.application.ports.repository import CallRepository
from voice_agent.domain.call import AnswerTime, Call, EndReason
from voice_agent.domain.events import CallerInterrupted
from voice_agent.domain.turn import LatencyBreakdown, Role, Turn


async def _store_calls(repository: InMemoryCallRepository, count: int) -> list[Call]:
    calls = []
    for n in range(count):
        call = Call(caller_number="+15550100", started_at=T0 + timedelta(minutes=n))
        if n % 2:
            call.end(EndReason.GOODBYE, T0 + timedelta(minutes=n, seconds=30))
        await repository.save_call(call)
        calls.append(call)
    return calls


async def test_calls_need_the_bearer_token(client: httpx.AsyncClient) -> None:
    missing = await client.get("/calls")
    assert missing.status_code == 401
    assert missing.json()["detail"] == "missing bearer token"
    wrong = await client.get("/calls", headers=auth("wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "invalid bearer token"
    assert "test-key" not in wrong.text


async def test_calls_are_paged_newest_first_and_filtered(
    client: httpx.AsyncClient, repository: InMemoryCallRepository
) -> None:
    calls = await _store_calls(repository, 5)
    page = (await client.get("/calls?limit=2&offset=1", headers=auth())).json()
    assert page["total"] == 5
    assert [c["id"] for c in page["calls"]] == [calls[3].id, calls[2].id]
    done = (await client.get("/calls?status=completed", headers=auth())).json()
    assert {c["id"] for c in done["calls"]} == {calls[1].id, calls[3].id}
    after = (T0 + timedelta(minutes=3)).isoformat()
    window = await client.get("/calls", params={"started_after": after}, headers=auth())
    assert [c["id"] for c in window.json()["calls"]] == [calls[4].id, calls[3].id]


async def test_a_calls_answer_time_is_in_the_list_and_the_detail(store: CallRepository) -> None:
    answered = Call(caller_number=None, started_at=T0)
    answered.answer = AnswerTime(joined_ms=350.5, first_audio_ms=1210.0)
    older = Call(caller_number=None, started_at=T0 - timedelta(minutes=1))
    for call in (answered, older):
        await store.save_call(call)
    async with api_client(store, PrometheusMetrics(), Probes()) as client:
        listed = (await client.get("/calls", headers=auth())).json()["calls"]
        detail = (await client.get(f"/calls/{answered.id}", headers=auth())).json()
    assert [c["answer"] for c in listed] == [
        {"joined_ms": 350.5, "first_audio_ms": 1210.0},
        None,
    ]
    assert detail["answer"] == {"joined_ms": 350.5, "first_audio_ms": 1210.0}


@pytest.fixture(params=["in-memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CallRepository]:
    if request.param == "in-memory":
        yield InMemoryCallRepository()
        return
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await database.migrate()
    yield SqlAlchemyCallRepository(database)
    await database.dispose()


@pytest.mark.parametrize(
    ("after", "before"),
    [
        ("2026-11-25T14:31:00+05:30", "2026-11-25T14:33:00+05:30"),
        ("2026-11-25T01:01:00-08:00", "2026-11-25T01:03:00-08:00"),
        ("2026-11-25T09:01:00Z", "2026-11-25T09:03:00"),  # no offset: UTC
    ],
)
async def test_time_filters_are_compared_in_utc_whatever_the_offset(
    store: CallRepository, after: str, before: str
) -> None:
    calls = [Call(caller_number=None, started_at=T0 + timedelta(minutes=n)) for n in range(4)]
    for call in calls:
        await store.save_call(call)
    async with api_client(store, PrometheusMetrics(), Probes()) as client:
        params = {"started_after": after, "started_before": before}
        window = await client.get("/calls", params=params, headers=auth())
        # A `+` sent unencoded in a query string arrives as a space: still read as `+`.
        unencoded = await client.get(
            f"/calls?started_after={after.replace('+', '%20')}", headers=auth()
        )
    assert window.status_code == 200, window.text
    assert [c["id"] for c in window.json()["calls"]] == [calls[2].id, calls[1].id]
    assert unencoded.status_code == 200, unencoded.text
    assert [c["id"] for c in unencoded.json()["calls"]] == [c.id for c in calls[:0:-1]]


async def test_a_call_shows_its_turns_latencies_and_interruptions(
    client: httpx.AsyncClient, repository: InMemoryCallRepository
) -> None:
    (call,) = await _store_calls(repository, 1)
    turn = Turn(
        Role.AGENT,
        "We open at nine and close at five.",
        index=1,
        started_at=T0,
        heard_text="We open at nine",
        interrupted=True,
        latency=LatencyBreakdown(350, 170, 300, 100, 783),
    )
    await repository.save_turn(call.id, turn)
    await repository.record_event(CallerInterrupted(call.id, 12.5, 1.2))
    body = (await client.get(f"/calls/{call.id}", headers=auth())).json()
    assert body["interruptions"] == 1
    (got,) = body["turns"]
    assert got["heard_text"] == "We open at nine"
    assert got["interrupted"] is True
    assert got["latency_ms"] == {
        "eou": 350,
        "stt": 170,
        "llm_ttft": 300,
        "tts_ttfb": 100,
        "e2e": 783,
    }
    assert body["events"] == [
        {"kind": "CallerInterrupted", "at": 12.5, "data": {"heard_seconds": 1.2}}
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("status=ringing", "status"),
        ("started_after=yesterday", "started_after"),
    ],
)
async def test_malformed_queries_get_a_precise_422(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    response = await client.get(f"/calls?{query}", headers=auth())
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["query", field]]


async def test_an_unknown_call_is_a_404_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/calls/nope", headers=auth())
    assert response.status_code == 404
    assert response.json()["detail"] == "no call with id 'nope'"
    too_long = await client.get("/calls/" + "x" * 65, headers=auth())
    assert too_long.status_code == 422


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"
    generated = await client.get("/health")
    assert len(generated.headers["X-Request-ID"]) == 32
