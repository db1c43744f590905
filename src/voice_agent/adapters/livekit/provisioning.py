"""Provisioning the inbound side of LiveKit SIP: one inbound trunk and one individual dispatch
rule, found by name, created or brought up to date (`setup`), and a listing of what exists
(`status`). `setup` compares what it finds with what is wanted and writes only the
differences, so running it again changes nothing and creates no duplicate."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from livekit import api

from voice_agent.adapters.livekit.api_errors import translated


@dataclass(frozen=True, slots=True)
class InboundSetup:
    """What the inbound side should be: the trunk's numbers and who may call it, and the
    rule putting each call in a new room (`room_prefix`) with our agent dispatched."""

    numbers: tuple[str, ...]
    agent_name: str
    allowed_addresses: tuple[str, ...] = ()
    auth_username: str = ""
    auth_password: str = field(default="", repr=False)
    room_prefix: str = "call-"
    trunk_name: str = "voice-agent-inbound"
    rule_name: str = "voice-agent-dispatch"


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Provisioned:
    trunk_id: str
    trunk: Change
    rule_id: str
    rule: Change


@dataclass(frozen=True, slots=True)
class TrunkView:
    """A trunk as `status` shows it: the password only as whether one is set."""

    id: str
    name: str
    direction: str
    numbers: tuple[str, ...]
    allowed_addresses: tuple[str, ...] = ()
    auth_username: str = ""
    has_password: bool = False
    address: str = ""


@dataclass(frozen=True, slots=True)
class RuleView:
    id: str
    name: str
    room_prefix: str
    agents: tuple[str, ...]
    trunk_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SipStatus:
    trunks: tuple[TrunkView, ...]
    rules: tuple[RuleView, ...]


def _wanted_trunk(setup: InboundSetup) -> api.SIPInboundTrunkInfo:
    return api.SIPInboundTrunkInfo(
        name=setup.trunk_name,
        numbers=list(setup.numbers),
        allowed_addresses=list(setup.allowed_addresses),
        auth_username=setup.auth_username,
        auth_password=setup.auth_password,
    )


def _wanted_rule(setup: InboundSetup, trunk_id: str) -> api.SIPDispatchRuleInfo:
    return api.SIPDispatchRuleInfo(
        name=setup.rule_name,
        trunk_ids=[trunk_id],
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=setup.room_prefix)
        ),
        room_config=api.RoomConfiguration(
            agents=[api.RoomAgentDispatch(agent_name=setup.agent_name)]
        ),
    )


def _trunk_differs(found: api.SIPInboundTrunkInfo, wanted: api.SIPInboundTrunkInfo) -> bool:
    return (
        sorted(found.numbers) != sorted(wanted.numbers)
        or sorted(found.allowed_addresses) != sorted(wanted.allowed_addresses)
        or found.auth_username != wanted.auth_username
        or found.auth_password != wanted.auth_password
    )


def _rule_differs(found: api.SIPDispatchRuleInfo, wanted: api.SIPDispatchRuleInfo) -> bool:
    return _rule_key(found) != _rule_key(wanted)


def _rule_key(rule: api.SIPDispatchRuleInfo) -> tuple[object, ...]:
    return (
        rule.rule.WhichOneof("rule"),
        rule.rule.dispatch_rule_individual.room_prefix,
        sorted(rule.trunk_ids),
        sorted(agent.agent_name for agent in rule.room_config.agents),
    )


async def setup_inbound(client: api.LiveKitAPI, setup: InboundSetup) -> Provisioned:
    """Create or update the trunk named `setup.trunk_name`, then the rule named
    `setup.rule_name` pointing at it. With several of one name (made by hand), the first
    listed is kept up to date and the others are left alone."""
    with translated("sip setup"):
        trunks = await client.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
        wanted_trunk = _wanted_trunk(setup)
        trunk = next((t for t in trunks.items if t.name == setup.trunk_name), None)
        if trunk is None:
            trunk = await client.sip.create_inbound_trunk(
                api.CreateSIPInboundTrunkRequest(trunk=wanted_trunk)
            )
            trunk_change = Change.CREATED
        elif _trunk_differs(trunk, wanted_trunk):
            trunk = await client.sip.update_inbound_trunk(trunk.sip_trunk_id, wanted_trunk)
            trunk_change = Change.UPDATED
        else:
            trunk_change = Change.UNCHANGED

        rules = await client.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
        wanted_rule = _wanted_rule(setup, trunk.sip_trunk_id)
        rule = next((r for r in rules.items if r.name == setup.rule_name), None)
        if rule is None:
            rule = await client.sip.create_dispatch_rule(
                api.CreateSIPDispatchRuleRequest(dispatch_rule=wanted_rule)
            )
            rule_change = Change.CREATED
        elif _rule_differs(rule, wanted_rule):
            rule = await client.sip.update_dispatch_rule(rule.sip_dispatch_rule_id, wanted_rule)
            rule_change = Change.UPDATED
        else:
            rule_change = Change.UNCHANGED
    return Provisioned(trunk.sip_trunk_id, trunk_change, rule.sip_dispatch_rule_id, rule_change)


async def sip_status(client: api.LiveKitAPI) -> SipStatus:
    """Every inbound and outbound trunk and every dispatch rule (no password)."""
    with translated("sip status"):
        inbound = await client.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
        outbound = await client.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
        rules = await client.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
    trunks = [
        TrunkView(
            id=t.sip_trunk_id,
            name=t.name,
            direction="inbound",
            numbers=tuple(t.numbers),
            allowed_addresses=tuple(t.allowed_addresses),
            auth_username=t.auth_username,
            has_password=bool(t.auth_password),
        )
        for t in inbound.items
    ] + [
        TrunkView(
            id=t.sip_trunk_id,
            name=t.name,
            direction="outbound",
            numbers=tuple(t.numbers),
            auth_username=t.auth_username,
            has_password=bool(t.auth_password),
            address=t.address,
        )
        for t in outbound.items
    ]
    return SipStatus(
        trunks=tuple(trunks),
        rules=tuple(
            RuleView(
                id=r.sip_dispatch_rule_id,
                name=r.name,
                room_prefix=r.rule.dispatch_rule_individual.room_prefix,
                agents=tuple(a.agent_name for a in r.room_config.agents),
                trunk_ids=tuple(r.trunk_ids),
            )
            for r in rules.items
        ),
    )
