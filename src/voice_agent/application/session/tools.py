"""The tools the language model may call during a call."""

from __future__ import annotations

from voice_agent.application.ports.llm import ToolSpec

END_CALL = ToolSpec(
    name="end_call",
    description=(
        "Hang up once the caller has nothing more to ask or says goodbye. "
        "Say a short goodbye in the same reply."
    ),
)
TRANSFER_CALL = ToolSpec(
    name="transfer_call",
    description="Transfer the caller to a human colleague when they ask for a person.",
)


def tools_for(transfer_destination: str | None) -> list[ToolSpec]:
    return [END_CALL, TRANSFER_CALL] if transfer_destination else [END_CALL]
