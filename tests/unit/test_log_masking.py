import io
import json
import logging

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
    from voice_agent.entrypoints.scenario import parse_scenario
    from voice_agent.entrypoints.scripted_call import build_scripted_call, run_fast_forwarded

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
