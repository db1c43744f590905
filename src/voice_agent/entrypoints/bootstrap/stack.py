"""Which stack of adapters a process runs on, and why (shown by `voice-agent config` and
`/config/status`)."""

from __future__ import annotations

from dataclasses import dataclass

from voice_agent.entrypoints.bootstrap.settings import Settings, StackName


@dataclass(frozen=True, slots=True)
class StackChoice:
    name: StackName
    reason: str


def choose_stack(settings: Settings) -> StackChoice:
    if settings.stack is not None:
        return StackChoice(settings.stack, f"STACK={settings.stack.value} is set")
    missing = settings.provider_keys.missing()
    if not missing:
        return StackChoice(StackName.CLOUD, "all provider keys are configured")
    return StackChoice(
        StackName.LOCAL,
        f"no complete set of provider keys (missing: {', '.join(missing)}); "
        "using the embedded local models",
    )
