"""Who may open the web phone (`/ws`): checked on the WebSocket handshake, before it is
accepted, so that a refused client never reaches the call machinery.

- **Origin.** A browser always sends `Origin`; it must be the server's own origin (scheme,
  host and port of the request's `Host`) or one of `ALLOWED_ORIGINS`. So a page on any
  other site the user visits cannot place calls through their agent. A page served under a
  DNS name that resolves to a loopback server (DNS rebinding) is refused too: on a loopback
  bind the server's own origin counts only under a loopback host name.
- **No Origin.** Non-browser clients (scripts, the test client) send none and could forge
  any; the Origin rule protects browsers only, so they pass it, and the token below is what
  keeps them out of a server reachable from the network.
- **Token.** A server bound to a non-loopback address (which needs `API_KEY`) also requires
  a credential: the API key as `Authorization: Bearer`, or a short-lived token from
  `POST /ws-token` (which needs the API key) offered as the WebSocket subprotocol
  `token.<token>` next to `voice-agent` (browsers cannot set headers on a WebSocket, and a
  query string would land in access logs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SUBPROTOCOL = "voice-agent"
TOKEN_PREFIX = "token."
TOKEN_TTL_S = 60


def is_loopback(host: str) -> bool:
    """Whether a host name or address only ever means this machine."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def normalize_origin(origin: str) -> str | None:
    """`scheme://host:port` with the default port made explicit; None unless `origin` is an
    http(s) origin (browsers send `null` for sandboxed and file pages)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port or (443 if parts.scheme == 'https' else 80)}"


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    allowed: frozenset[str]
    """Normalized extra origins (`ALLOWED_ORIGINS`)."""
    public: bool
    """The server is bound to a non-loopback address."""

    @classmethod
    def create(cls, origins: Iterable[str], *, public: bool) -> OriginPolicy:
        allowed = set()
        for origin in origins:
            normalized = normalize_origin(origin)
            if normalized is None:
                raise ValueError(
                    f"ALLOWED_ORIGINS: {origin[:80]!r} is not an origin like https://host[:port]"
                )
            allowed.add(normalized)
        return cls(frozenset(allowed), public)

    def refusal(self, origin: str | None, host: str | None, *, secure: bool) -> str | None:
        """Why a request from a page at `origin` to `host` is refused; None if it is not."""
        if origin is None:
            return None
        theirs = normalize_origin(origin)
        if theirs is None:
            return "the Origin is not an http(s) origin"
        if theirs in self.allowed:
            return None
        own = normalize_origin(f"{'https' if secure else 'http'}://{host}") if host else None
        if theirs != own:
            return "cross-origin request"
        hostname = urlsplit(own).hostname or ""
        if not self.public and not is_loopback(hostname):
            return "a loopback server reached under a non-loopback name"
        return None


class CallTokens:
    """Short-lived web phone tokens, `<expiry>.<HMAC-SHA256 of it under the API key>`: a page
    holds one for a minute instead of the key itself."""

    def __init__(
        self, api_key: str, *, ttl_s: int = TOKEN_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = api_key.encode()
        self._ttl_s = ttl_s
        self._clock = clock

    def mint(self) -> str:
        expires = int(self._clock()) + self._ttl_s
        return f"{expires}.{self._sign(expires)}"

    def accepts(self, credential: str) -> bool:
        """The API key itself, or an unexpired token; compared in constant time."""
        if hmac.compare_digest(credential.encode(), self._key):
            return True
        expires, _, signature = credential.partition(".")
        if not expires.isdigit() or len(expires) > 12 or int(expires) < self._clock():
            return False
        return hmac.compare_digest(signature.encode(), self._sign(int(expires)).encode())

    def is_api_key(self, credential: str) -> bool:
        return hmac.compare_digest(credential.encode(), self._key)

    def _sign(self, expires: int) -> str:
        message = f"web-phone:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def offered_token(headers: Mapping[str, str]) -> str | None:
    """The token a client offered as the subprotocol `token.<token>`, or as a bearer."""
    for protocol in headers.get("sec-websocket-protocol", "").split(","):
        protocol = protocol.strip()
        if protocol.startswith(TOKEN_PREFIX):
            return protocol.removeprefix(TOKEN_PREFIX)
    return bearer(headers)


@dataclass(frozen=True, slots=True)
class WebPhoneGate:
    """The handshake checks, in order: origin, then (on a public bind) the token."""

    origins: OriginPolicy
    tokens: CallTokens | None
    """None when `API_KEY` is unset (then the server must be bound to loopback)."""

    @property
    def token_required(self) -> bool:
        return self.origins.public

    def refusal(self, headers: Mapping[str, str], *, secure: bool) -> str | None:
        """Why this handshake is refused (never quoting the credential); None if not."""
        reason = self.origins.refusal(headers.get("origin"), headers.get("host"), secure=secure)
        if reason is not None or not self.token_required:
            return reason
        credential = offered_token(headers)
        if credential is None:
            return "no token"
        if self.tokens is None or not self.tokens.accepts(credential):
            return "invalid or expired token"
        return None

    def subprotocol(self, headers: Mapping[str, str]) -> str | None:
        """The subprotocol to accept: `voice-agent` when the client offered it."""
        offered = {p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")}
        return SUBPROTOCOL if SUBPROTOCOL in offered else None
