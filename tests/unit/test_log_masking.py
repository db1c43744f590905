import io
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from voice_agent.adapters.observability.logging import bind_call, configure_logging, mask_phone


@pytest.fixture
def captured() -> io.StringIO:
    stream = io.StringIO()
    configure_logging(json=True)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    structlog.contextvars.clear_contextvars()
    return stream


def test_secrets_and_phone_numbers_never_reach_the_log(captured: io.StringIO) -> None:
    log = structlog.get_logger("test")
    bind_call("call-1", turn=3)
    log.info(
        "caller +15550100123 connected",
        api_key="sk-live-abc",
        headers={"Authorization": "Bearer tok-123"},
        groq=SecretStr("gsk-xyz"),
        caller="555-010-1234",
    )
    line = json.loads(captured.getvalue().splitlines()[-1])
    text = json.dumps(line)
    for secret in ("sk-live-abc", "tok-123", "gsk-xyz", "15550100123", "555-010-1234"):
        assert secret not in text
    assert line["event"] == "caller ***23 connected"
    assert line["caller"] == "***34"
    assert (line["call_id"], line["turn"]) == ("call-1", 3)
    assert line["timestamp"].startswith("20")


def test_standard_library_logs_are_masked_too(captured: io.StringIO) -> None:
    logging.getLogger("vendor").warning("dialing +4915112345678 with token=%s", "x")
    line = json.loads(captured.getvalue().splitlines()[-1])
    assert "4915112345678" not in line["event"]
    assert line["level"] == "warning"


def test_mask_phone_keeps_the_last_two_digits() -> None:
    assert mask_phone("+1 (555) 010-0199") == "***99"
    assert mask_phone("") == "***"


def test_log_lines_of_a_call_carry_its_id_and_turn(captured: io.StringIO) -> None:
    from voice_agent.adapters.observability.logging import CallLogContext
    from voice_agent.entrypoints.scripted.runner import build_scripted_call, run_fast_forwarded
    from voice_agent.entrypoints.scripted.scenario import parse_scenario

    scenario = parse_scenario(
        {
            "failures": {"tts_calls": [2]},
            "caller": [{"say": "Are you open today?"}, {"hang_up": True}],
            "agent": [{"reply": "Yes."}],
        }
    )

    async def main() -> str:
        scripted = build_scripted_call(scenario, sinks=[CallLogContext()])
        call = await scripted.run()
        return call.id

    call_id = run_fast_forwarded(main)
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    failure = next(line for line in lines if "synthesis failed" in line["event"])
    assert failure["call_id"] == call_id
    assert failure["turn"] == 2


def _last_line(captured: io.StringIO) -> dict[str, Any]:
    line: dict[str, Any] = json.loads(captured.getvalue().splitlines()[-1])
    return line


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET https://api.example.com/v1?api_key=sk-123&x=1", "?api_key=***&x=1"),
        ("GET /listen?model=nova&token=tok-123", "&token=***"),
        ("wss://host/ws?access_token=abc.def&sig=ZmFrZQ", "?access_token=***&sig=***"),
        ("https://h/?key=k-9&password=hunter2&secret=s3", "?key=***&password=***&secret=***"),
        ("postgresql+asyncpg://voice:hunter2@db:5432/calls", "postgresql+asyncpg://voice:***@db"),
        ("retrying with token=tok-123 now", "with token=*** now"),
        ("header Authorization: Bearer eyJhbGciOi.x.y", "Bearer ***"),
        ("dialing tel:+15550100123", "dialing tel:***23"),
        ("INVITE sip:+4915112345678@trunk.example.com", "INVITE sip:***78@trunk.example.com"),
        ("from sip:15550100123@pbx", "from sip:***23@pbx"),
        ("caller 15550100123 connected", "caller ***23 connected"),
        ("uk caller 442079460958.", "uk caller ***58."),
        ("webhook From=%2B15550100123&To=%2b442079460958", "From=***23&To=***58"),
        ("call from +44 20 7946 0958 answered", "call from ***58 answered"),
        ("call from +1 (555) 010-0199 answered", "call from ***99 answered"),
        ("call from +49 151 12345678", "call from ***78"),
        ("call from +15550100 at 2026-11-25T09:00:00Z", "call from ***00 at 2026-11-25T09:00"),
        # LiveKit names a dispatch rule's room and a SIP caller after the number, with `_`.
        ("room call-_+15550100123_aBcD finished", "room call-_***23_aBcD finished"),
        ("participant sip_+15550100123 joined", "participant sip_***23 joined"),
        ("participant sip_15550100123 joined", "participant sip_***23 joined"),
    ],
)
def test_secrets_and_numbers_in_every_spelling_are_masked(
    captured: io.StringIO, text: str, masked: str
) -> None:
    structlog.get_logger("test").info(text)
    event = _last_line(captured)["event"]
    assert masked in event
    for secret in ("sk-123", "tok-123", "abc.def", "ZmFrZQ", "hunter2", "k-9", "eyJ", "5550100"):
        assert secret not in event
    assert "0958" not in event.replace("***58", "")


@pytest.mark.parametrize(
    "text",
    [
        "reply took 1234 ms",
        "turn 12 ended at 2026-11-25T09:00:00.123456+00:00 (epoch 1795597200, 1795597200123 ms)",
        "call 550e8400-e29b-41d4-a716-446655440000 id 3f2b9c0d8e7a4b1c9d0e1f2a3b4c5d6e",
        "listening on 127.0.0.1:8000 and [::1]:8443",
        "first token: 120 ms, llm_tokens=250, max_tokens=250",
        "budget 0.12345678901 s, ratio 12345678901.5",
        "a basic question about opening hours",
    ],
)
def test_ordinary_numbers_and_words_stay_readable(captured: io.StringIO, text: str) -> None:
    structlog.get_logger("test").info(text)
    assert _last_line(captured)["event"] == text


def test_percent_arguments_are_merged_then_masked(captured: io.StringIO) -> None:
    log = structlog.get_logger("test")
    log.info("dialing %s via %s", "+15550100123", "https://h/?api_key=sk-123")
    line = _last_line(captured)
    assert line["event"] == "dialing ***23 via https://h/?api_key=***"
    assert "positional_args" not in line
    logging.getLogger("vendor").warning("GET %s?token=%s", "https://h/listen", "tok-123")
    assert _last_line(captured)["event"] == "GET https://h/listen?token=***"


class Headers(Mapping[str, str]):
    """A header object that is a Mapping but not a dict (like httpx.Headers)."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Request:
    """An object logged as is: rendered by its repr."""

    def __repr__(self) -> str:
        return "<Request GET https://h/v1?api_key=sk-123 from +15550100123>"


def test_nested_values_header_objects_and_pairs_are_masked(captured: io.StringIO) -> None:
    structlog.get_logger("test").info(
        "request",
        headers=Headers({"X-Api-Key": "sk-123", "Accept": "audio/wav"}),
        raw_headers=[(b"authorization", b"Token tok-123"), (b"x-caller", b"+15550100123")],
        form=(("To", "+442079460958"), ("password", "hunter2")),
        body={"calls": [{"from": "tel:+15550100123", "llm_tokens": 120, "to_number": 4420794609}]},
        request=Request(),
        duration_ms=1234,
        call_id="3f2b9c0d8e7a4b1c9d0e1f2a3b4c5d6e",
    )
    line = _last_line(captured)
    text = json.dumps(line)
    for secret in ("sk-123", "tok-123", "hunter2", "5550100", "2079460958", "4420794609"):
        assert secret not in text
    assert line["headers"] == {"X-Api-Key": "***", "Accept": "audio/wav"}
    assert line["raw_headers"] == [["authorization", "***"], ["x-caller", "***23"]]
    assert line["form"] == [["To", "***58"], ["password", "***"]]
    assert line["body"] == {
        "calls": [{"from": "tel:***23", "llm_tokens": 120, "to_number": "***09"}]
    }
    assert line["request"] == "<Request GET https://h/v1?api_key=*** from ***23>"
    assert (line["duration_ms"], line["call_id"]) == (1234, "3f2b9c0d8e7a4b1c9d0e1f2a3b4c5d6e")


def test_exception_messages_and_tracebacks_are_masked(captured: io.StringIO) -> None:
    def fail() -> None:
        raise ConnectionError(
            "could not reach https://voice:hunter2@h/?token=tok-123 for +15550100123"
        )

    for logger in (structlog.get_logger("test"), logging.getLogger("vendor")):
        try:
            fail()
        except ConnectionError:
            logger.exception("dial failed")
        line = _last_line(captured)
        assert "ConnectionError" in line["exception"]
        for secret in ("hunter2", "tok-123", "5550100"):
            assert secret not in json.dumps(line)


def test_console_lines_are_masked_too() -> None:
    stream = io.StringIO()
    configure_logging(json=False)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    structlog.get_logger("test").info("dialing %s", "+44 20 7946 0958", api_key="sk-123")
    text = stream.getvalue()
    assert "dialing ***58" in text
    assert "sk-123" not in text
    assert "7946" not in text
