"""`voice-agent sip setup`, `voice-agent sip status` and `voice-agent dial +NUMBER`: the
LiveKit SIP side, through the server's API (LIVEKIT_URL, key, secret; `SIP__...` settings).

Exit codes: 0 done, 1 the call was not answered (`dial`), 2 bad usage or settings, or the
server refused or failed (the message says which). Phone numbers are masked in the output."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from voice_agent.adapters.observability.masking import mask_phone
from voice_agent.application.ports.errors import ProviderError
from voice_agent.entrypoints.bootstrap.container import Container
from voice_agent.entrypoints.bootstrap.sip import (
    E164,
    DialFailed,
    LiveKitControl,
    SipStatus,
    inbound_setup,
    livekit_control,
    outbound_trunk_id,
)


def register(commands: Any) -> None:
    sip = commands.add_parser("sip", help="provision LiveKit SIP for a phone number")
    actions = sip.add_subparsers(dest="sip_command", required=True)
    setup = actions.add_parser(
        "setup",
        help="create or update the inbound trunk (SIP__INBOUND_NUMBERS...) and the dispatch "
        "rule sending each call to this agent",
    )
    setup.set_defaults(handler=_setup)
    status = actions.add_parser("status", help="list the SIP trunks and dispatch rules")
    status.set_defaults(handler=_status)
    dial = commands.add_parser(
        "dial", help="call a phone number (E.164) with the agent, through SIP__OUTBOUND_TRUNK_ID"
    )
    dial.add_argument("number", metavar="+NUMBER")
    dial.set_defaults(handler=_dial)


def _run(command: str, work: Callable[[LiveKitControl], Awaitable[int]]) -> int:
    settings = Container().settings()
    control = livekit_control(settings, command)

    async def main() -> int:
        try:
            return await work(control)
        finally:
            await control.aclose()

    try:
        return asyncio.run(main())
    except ProviderError as error:
        print(f"voice-agent {command}: {error}", file=sys.stderr)
        return 2


def _setup(args: argparse.Namespace) -> int:
    wanted = inbound_setup(Container().settings())

    async def work(control: LiveKitControl) -> int:
        done = await control.setup(wanted)
        print(f"inbound trunk {done.trunk_id}: {done.trunk.value}")
        print(f"dispatch rule {done.rule_id}: {done.rule.value}")
        return 0

    return _run("sip setup", work)


def _status(args: argparse.Namespace) -> int:
    async def work(control: LiveKitControl) -> int:
        print(status_text(await control.status()))
        return 0

    return _run("sip status", work)


def status_text(status: SipStatus) -> str:
    """Trunks and rules, one per line; numbers masked, a password only as `password set`."""
    lines = []
    for trunk in status.trunks:
        numbers = ", ".join(mask_phone(n) for n in trunk.numbers) or "any number"
        parts = [f"{trunk.direction} trunk {trunk.id} {trunk.name!r}: {numbers}"]
        if trunk.allowed_addresses:
            parts.append(f"from {', '.join(trunk.allowed_addresses)}")
        if trunk.address:
            parts.append(f"via {trunk.address}")
        if trunk.auth_username:
            parts.append(
                f"digest user {trunk.auth_username!r}"
                + (", password set" if trunk.has_password else ", no password")
            )
        lines.append("; ".join(parts))
    for rule in status.rules:
        lines.append(
            f"dispatch rule {rule.id} {rule.name!r}: rooms {rule.room_prefix}..., agents "
            f"{', '.join(rule.agents) or 'none'}, trunks {', '.join(rule.trunk_ids) or 'any'}"
        )
    return "\n".join(lines) if lines else "no SIP trunks or dispatch rules"


def _dial(args: argparse.Namespace) -> int:
    number: str = args.number
    if not E164.fullmatch(number):
        print(
            "voice-agent dial: the number must be E.164: + and 7 to 15 digits, no spaces "
            "(e.g. +74951234567)",
            file=sys.stderr,
        )
        return 2
    settings = Container().settings()
    trunk = outbound_trunk_id(settings)
    masked = mask_phone(number)

    async def work(control: LiveKitControl) -> int:
        print(f"calling {masked}...")
        try:
            dialled = await control.dial(
                number,
                outbound_trunk_id=trunk,
                room_prefix=settings.sip.room_prefix,
                ringing_timeout_s=settings.sip.ringing_timeout_s,
            )
        except DialFailed as failure:
            print(
                f"voice-agent dial: {masked} {_WHY[failure.outcome.value]} ({failure.detail})",
                file=sys.stderr,
            )
            return 1
        print(f"{masked} answered: the agent talks to them in room {dialled.room}")
        return 0

    return _run("dial", work)


_WHY = {
    "busy": "is busy",
    "declined": "declined the call",
    "no_answer": "did not answer",
    "failed": "could not be called",
}
