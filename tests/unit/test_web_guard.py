"""Who may open the web phone: the page's origin against the server's own (and
`ALLOWED_ORIGINS`), DNS rebinding on a loopback bind, and short-lived tokens."""

from __future__ import annotations

import pytest

from voice_agent.entrypoints.web.guard import CallTokens, OriginPolicy, WebPhoneGate

HOST = "127.0.0.1:8000"
PROXIED = "https://phone.example.com"


@pytest.mark.parametrize(
    ("origin", "host", "public", "refused"),
    [
        ("https://evil.example", HOST, False, "cross-origin request"),
        ("http://127.0.0.1:8000", HOST, False, None),
        ("http://localhost:8000", "localhost:8000", False, None),
        ("HTTP://LOCALHOST", "localhost:80", False, None),
        ("http://[::1]:8000", "[::1]:8000", False, None),
        ("http://127.0.0.1:8001", HOST, False, "cross-origin request"),
        ("https://127.0.0.1:8000", HOST, False, "cross-origin request"),
        ("null", HOST, False, "not an http(s) origin"),
        (None, HOST, False, None),
        ("http://rebound.evil.example:8000", "rebound.evil.example:8000", False, "loopback"),
        ("http://phone.lan:8000", "phone.lan:8000", True, None),
        (PROXIED, HOST, False, None),
        (PROXIED + ":443", "anything", True, None),
    ],
)
def test_only_the_servers_own_or_an_allowed_origin_passes(
    origin: str | None, host: str, public: bool, refused: str | None
) -> None:
    policy = OriginPolicy.create([PROXIED], public=public)
    reason = policy.refusal(origin, host, secure=False)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None
        assert refused in reason


def test_a_malformed_allowed_origin_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match=r"'phone\.example\.com' is not an origin"):
        OriginPolicy.create(["phone.example.com"], public=False)


def test_tokens_expire_and_cannot_be_forged() -> None:
    now = [1_000_000.0]
    tokens = CallTokens("the-api-key", ttl_s=60, clock=lambda: now[0])
    token = tokens.mint()
    assert tokens.accepts(token)
    assert tokens.accepts("the-api-key")
    expires, signature = token.split(".")
    assert not tokens.accepts(f"{int(expires) + 3600}.{signature}")
    assert not CallTokens("another-key").accepts(token)
    for garbage in ("", ".", "9" * 50, "x.y", token + "0"):
        assert not tokens.accepts(garbage)
    now[0] += 61
    assert not tokens.accepts(token)


def test_a_public_server_wants_a_token_and_says_which_subprotocol_it_speaks() -> None:
    tokens = CallTokens("the-api-key")
    gate = WebPhoneGate(OriginPolicy.create([], public=True), tokens)
    page = {"origin": "http://phone.lan:8000", "host": "phone.lan:8000"}
    assert gate.refusal(page, secure=False) == "no token"
    offered = {**page, "sec-websocket-protocol": f"voice-agent, token.{tokens.mint()}"}
    assert gate.refusal(offered, secure=False) is None
    assert gate.subprotocol(offered) == "voice-agent"
    forged = {**page, "sec-websocket-protocol": "voice-agent, token.1.abc"}
    assert gate.refusal(forged, secure=False) == "invalid or expired token"
    assert gate.refusal({"authorization": "Bearer the-api-key"}, secure=False) is None
    loopback = WebPhoneGate(OriginPolicy.create([], public=False), tokens)
    assert loopback.refusal({}, secure=False) is None
    assert loopback.subprotocol({}) is None
