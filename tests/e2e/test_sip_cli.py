"""`voice-agent sip setup|status` and `voice-agent dial` as an operator runs them, against the
loopback Twirp fake (the command runs its own event loop, so in a thread beside the fake's):
what they print, that numbers are masked and the password never shown, and the precise
message for each missing setting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fake_servers.livekit_agent import API_KEY, API_SECRET
from fake_servers.livekit_twirp import FakeLiveKitTwirp

from voice_agent.entrypoints.cli.main import main

NUMBER = "+74951234567"
PASSWORD = "digest-password-for-tests"


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeLiveKitTwirp]:
    server = FakeLiveKitTwirp()
    async with server:
        for name, value in {
            "LIVEKIT_URL": server.ws_url,
            "LIVEKIT_API_KEY": API_KEY,
            "LIVEKIT_API_SECRET": API_SECRET,
            "LIVEKIT_AGENT_NAME": "receptionist",
            "SIP__INBOUND_NUMBERS": NUMBER,
            "SIP__ALLOWED_ADDRESSES": "203.0.113.0/24",
            "SIP__AUTH_USERNAME": "novofon",
            "SIP__AUTH_PASSWORD": PASSWORD,
        }.items():
            monkeypatch.setenv(name, value)
        yield server


async def run(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_setup_creates_then_finds_nothing_to_change_and_status_lists_it_masked(
    fake: FakeLiveKitTwirp, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run("sip", "setup") == 0
    first = capsys.readouterr().out
    assert "inbound trunk ST_in1: created" in first
    assert "dispatch rule SDR_2: created" in first

    assert await run("sip", "setup") == 0
    assert capsys.readouterr().out.count("unchanged") == 2
    assert (len(fake.inbound_trunks), len(fake.dispatch_rules)) == (1, 1)

    assert await run("sip", "status") == 0
    out = capsys.readouterr().out
    assert "inbound trunk ST_in1 'voice-agent-inbound': ***67; from 203.0.113.0/24" in out
    assert "digest user 'novofon', password set" in out
    assert "dispatch rule SDR_2 'voice-agent-dispatch': rooms call-..., agents receptionist" in out
    assert NUMBER not in out
    assert PASSWORD not in out


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("SIP__INBOUND_NUMBERS", "voice-agent sip setup needs SIP__INBOUND_NUMBERS"),
        ("SIP__AUTH_PASSWORD", "needs both SIP__AUTH_USERNAME and SIP__AUTH_PASSWORD, or neither"),
        ("LIVEKIT_API_SECRET", "voice-agent sip setup needs LIVEKIT_API_SECRET"),
    ],
)
async def test_setup_names_the_missing_setting_and_changes_nothing(
    fake: FakeLiveKitTwirp, monkeypatch: pytest.MonkeyPatch, unset: str, message: str
) -> None:
    monkeypatch.delenv(unset)

    with pytest.raises(SystemExit, match=message):
        await run("sip", "setup")
    assert fake.calls == []


async def test_setup_refuses_a_trunk_anyone_could_call(
    fake: FakeLiveKitTwirp, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SIP__ALLOWED_ADDRESSES", "SIP__AUTH_USERNAME", "SIP__AUTH_PASSWORD"):
        monkeypatch.delenv(name)

    with pytest.raises(SystemExit, match="needs SIP__ALLOWED_ADDRESSES"):
        await run("sip", "setup")
    assert fake.calls == []


async def test_status_with_a_refused_key_says_so_without_the_secret(
    fake: FakeLiveKitTwirp, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIVEKIT_API_SECRET", "a-wrong-secret-that-is-long-enough-0000")

    assert await run("sip", "status") == 2
    err = capsys.readouterr().err
    assert "voice-agent sip status: livekit: the server refused the key" in err
    assert "a-wrong-secret" not in err


async def test_dial_calls_the_number_and_prints_it_masked(
    fake: FakeLiveKitTwirp, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIP__OUTBOUND_TRUNK_ID", fake.add_outbound_trunk())

    assert await run("dial", "+15550100777") == 0

    out = capsys.readouterr().out
    assert "***77 answered: the agent talks to them in room call-out-" in out
    assert "+15550100777" not in out
    assert [request.sip_call_to for request in fake.dials] == ["+15550100777"]


async def test_a_busy_number_exits_1_saying_so(
    fake: FakeLiveKitTwirp, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIP__OUTBOUND_TRUNK_ID", fake.add_outbound_trunk())
    fake.dial_status = 486

    assert await run("dial", "+15550100777") == 1

    err = capsys.readouterr().err
    assert "voice-agent dial: ***77 is busy (SIP 486 Busy Here)" in err
    assert "+15550100777" not in err


@pytest.mark.parametrize("number", ["15550100777", "+1 555 010 0777", "+0555010077", "+1234"])
async def test_dial_refuses_a_number_that_is_not_e164(
    fake: FakeLiveKitTwirp, capsys: pytest.CaptureFixture[str], number: str
) -> None:
    assert await run("dial", number) == 2
    assert "the number must be E.164" in capsys.readouterr().err
    assert fake.calls == []


async def test_dial_without_an_outbound_trunk_names_the_setting(fake: FakeLiveKitTwirp) -> None:
    with pytest.raises(SystemExit, match="voice-agent dial needs SIP__OUTBOUND_TRUNK_ID"):
        await run("dial", "+15550100777")
    assert fake.calls == []


async def test_status_with_no_server_there_says_it_cannot_reach_it(
    fake: FakeLiveKitTwirp, capsys: pytest.CaptureFixture[str]
) -> None:
    await fake.stop()  # nothing listens on its port any more

    assert await run("sip", "status") == 2
    assert "voice-agent sip status: livekit: sip status: cannot reach the server" in (
        capsys.readouterr().err
    )
