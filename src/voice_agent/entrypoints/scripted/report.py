"""How a finished call is shown: one JSON object, or a transcript and a latency table."""

from __future__ import annotations

from typing import Any

from voice_agent.domain.call import Call
from voice_agent.domain.turn import Role

STAGES = ("eou", "stt", "llm_ttft", "tts_ttfb", "e2e")


def call_as_json(call: Call) -> dict[str, Any]:
    return {
        "call": {
            "id": call.id,
            "status": call.status.value,
            "end_reason": call.end_reason.value if call.end_reason else None,
        },
        "turns": [
            {
                "role": turn.role.value,
                "text": turn.text,
                "heard_text": turn.heard_text,
                "interrupted": turn.interrupted,
                "latency_ms": turn.latency.as_dict(),
            }
            for turn in call.turns
        ],
    }


def call_as_text(call: Call) -> str:
    lines = [f"call {call.id}: {call.status.value} ({_reason(call)})", ""]
    for turn in call.turns:
        speaker = "caller" if turn.role is Role.CALLER else "agent "
        said = turn.heard_text if turn.interrupted else turn.text
        cut = f"  [interrupted; meant: {turn.text!r}]" if turn.interrupted else ""
        lines.append(f"{speaker}: {said}{cut}")
    lines += ["", _latency_table(call)]
    return "\n".join(lines)


def _reason(call: Call) -> str:
    return call.end_reason.value if call.end_reason else "no reason"


def _latency_table(call: Call) -> str:
    header = f"{'turn':>4}  " + "  ".join(f"{stage + ' ms':>11}" for stage in STAGES)
    rows = [header, "-" * len(header)]
    for turn in call.turns:
        if turn.role is not Role.AGENT:
            continue
        values = turn.latency.as_dict()
        cells = "  ".join(f"{'-' if values[s] is None else f'{values[s]:.0f}':>11}" for s in STAGES)
        rows.append(f"{turn.index:>4}  {cells}")
    return "\n".join(rows)
