"""The LiveKit control client and the SIP provisioning wanted, built from the settings for
`voice-agent sip setup|status` and `voice-agent dial` (the CLI knows no adapter). A missing
or contradictory setting is a `SystemExit` naming the variable."""

from __future__ import annotations

from voice_agent.adapters.livekit import (
    Change,
    DialFailed,
    Dialled,
    InboundSetup,
    LiveKitControl,
    LiveKitSettings,
    Provisioned,
    RuleView,
    SipStatus,
    TrunkView,
)
from voice_agent.entrypoints.bootstrap.settings import E164, Settings

__all__ = [
    "E164",
    "Change",
    "DialFailed",
    "Dialled",
    "LiveKitControl",
    "Provisioned",
    "RuleView",
    "SipStatus",
    "TrunkView",
    "inbound_setup",
    "livekit_connection",
    "livekit_control",
    "outbound_trunk_id",
]


def livekit_connection(settings: Settings, command: str) -> LiveKitSettings:
    """The LiveKit server of `LIVEKIT_URL` with the key, secret and agent name; a missing
    variable is named in a `SystemExit` (`voice-agent COMMAND needs ...`)."""
    missing = [
        name
        for name, value in (
            ("LIVEKIT_URL", settings.livekit_url),
            ("LIVEKIT_API_KEY", settings.livekit_api_key),
            ("LIVEKIT_API_SECRET", settings.livekit_api_secret),
        )
        if not value
    ]
    if missing or not (
        settings.livekit_url and settings.livekit_api_key and settings.livekit_api_secret
    ):
        raise SystemExit(f"voice-agent {command} needs {', '.join(missing)}")
    return LiveKitSettings(
        url=settings.livekit_url,
        api_key=settings.livekit_api_key.get_secret_value(),
        api_secret=settings.livekit_api_secret.get_secret_value(),
        agent_name=settings.livekit_agent_name,
        server_target_load=settings.livekit_target_load,
    )


def livekit_control(settings: Settings, command: str) -> LiveKitControl:
    """The server API client of `LIVEKIT_URL` with the key and secret."""
    return LiveKitControl(livekit_connection(settings, command))


def inbound_setup(settings: Settings) -> InboundSetup:
    """The trunk and rule `sip setup` provisions. LiveKit refuses a trunk open to anyone:
    it needs numbers, and allowed addresses and/or digest credentials (both halves)."""
    sip = settings.sip
    if not sip.numbers:
        raise SystemExit(
            "voice-agent sip setup needs SIP__INBOUND_NUMBERS (E.164, comma-separated)"
        )
    password = sip.auth_password.get_secret_value() if sip.auth_password else ""
    if bool(sip.auth_username) != bool(password):
        raise SystemExit(
            "voice-agent sip setup needs both SIP__AUTH_USERNAME and SIP__AUTH_PASSWORD, or neither"
        )
    if not (sip.addresses or sip.auth_username):
        raise SystemExit(
            "voice-agent sip setup needs SIP__ALLOWED_ADDRESSES (the carrier's addresses) "
            "or SIP__AUTH_USERNAME and SIP__AUTH_PASSWORD: a trunk open to anyone is refused"
        )
    return InboundSetup(
        numbers=sip.numbers,
        agent_name=settings.livekit_agent_name,
        allowed_addresses=sip.addresses,
        auth_username=sip.auth_username or "",
        auth_password=password,
        room_prefix=sip.room_prefix,
        trunk_name=sip.trunk_name,
        rule_name=sip.dispatch_rule_name,
    )


def outbound_trunk_id(settings: Settings) -> str:
    if not settings.sip.outbound_trunk_id:
        raise SystemExit(
            "voice-agent dial needs SIP__OUTBOUND_TRUNK_ID (an outbound trunk's ST_... id; "
            "`voice-agent sip status` lists them)"
        )
    return settings.sip.outbound_trunk_id
