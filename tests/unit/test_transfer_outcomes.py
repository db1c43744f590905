"""A transfer that does not happen: the caller hears why (busy, declined, no answer, or the
generic apology), the failure is stored with its outcome, and the call goes on."""

from __future__ import annotations

import pytest

from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.application.ports.transport import TransferFailed, TransferOutcome
from voice_agent.application.session.config import Prompts
from voice_agent.domain.call import EndReason
from voice_agent.domain.events import DomainEvent, ProviderFailed
from voice_agent.domain.turn import Role
from voice_agent.entrypoints.scripted.runner import build_scripted_call
from voice_agent.entrypoints.scripted.scenario import parse_scenario

pytestmark = pytest.mark.looptime

PROMPTS = Prompts()
SCENARIO = {
    "settings": {"transfer_destination": "tel:+15550199"},
    "caller": [
        {"say": "Can I talk to a person please"},
        {"say": "Okay, when are you open?", "at": 20},
        {"hang_up": True},
    ],
    "agent": [
        {"reply": "Sure, one moment.", "tools": [{"name": "transfer_call"}]},
        {"reply": "We are open nine to five."},
    ],
}


def line_failing_with(error: Exception) -> type[InMemoryCallTransport]:
    class FailingTransfer(InMemoryCallTransport):
        async def transfer(self, destination: str) -> None:
            raise error

    return FailingTransfer


@pytest.mark.parametrize(
    ("error", "heard", "outcome"),
    [
        (TransferFailed(TransferOutcome.BUSY, "SIP 486 Busy Here"), PROMPTS.transfer_busy, "busy"),
        (
            TransferFailed(TransferOutcome.DECLINED, "SIP 603 Decline"),
            PROMPTS.transfer_declined,
            "declined",
        ),
        (
            TransferFailed(TransferOutcome.NO_ANSWER, "no answer within 30 s"),
            PROMPTS.transfer_no_answer,
            "no_answer",
        ),
        (
            TransferFailed(TransferOutcome.FAILED, "SIP 404 Not Found"),
            PROMPTS.transfer_failed,
            "failed",
        ),
        (RuntimeError("the SIP service is down"), PROMPTS.transfer_failed, "failed"),
    ],
)
async def test_the_caller_hears_why_the_transfer_failed_and_the_call_goes_on(
    error: Exception, heard: str, outcome: str
) -> None:
    events: list[DomainEvent] = []
    scripted = build_scripted_call(
        parse_scenario(SCENARIO), line=line_failing_with(error), sinks=[events.append]
    )
    call = await scripted.run()
    agent = [t.heard_text for t in call.turns if t.role is Role.AGENT]
    assert agent[1:] == ["Sure, one moment.", heard, "We are open nine to five."]
    assert call.end_reason is EndReason.CALLER_HUNG_UP
    stored = await scripted.repository.events(call.id)
    [failure] = [e for e in stored if isinstance(e, ProviderFailed)]
    assert (failure.stage, failure.outcome) == ("transfer", outcome)
    assert str(error) in failure.error


def test_the_busy_line_says_the_line_is_busy() -> None:
    assert PROMPTS.transfer_busy.startswith("That line is busy right now")
