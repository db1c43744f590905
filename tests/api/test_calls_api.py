from datetime import timedelta

import httpx
import pytest

from tests.api.conftest import T0, auth
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.domain.call import Call, EndReason
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
