"""`voice-agent check-deployment`: is a running deployment whole? Checks, and names what fails:

- the API's and every worker's `/health` (200, and which component is not healthy);
- their `/metrics` expose the series the dashboard and the alerts need;
- the database schema (DATABASE_URL) is at this code's migration head;
- a worker is registered with LiveKit under LIVEKIT_AGENT_NAME and answers a dispatch,
  asked through the LiveKit server's API (a throwaway room, deleted after).

Exits 0 when every check passes, 1 otherwise (one line per check either way), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from voice_agent.adapters.livekit.probe import agent_answers
from voice_agent.adapters.sqlalchemy import Database
from voice_agent.entrypoints.bootstrap.container import Container
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.bootstrap.sip import livekit_control

API_SERIES = (
    "voice_agent_active_calls",
    "voice_agent_calls",
    "voice_agent_turn_latency_seconds",
    "voice_agent_provider_errors",
    "voice_agent_provider_circuit_state",
    "voice_agent_interruptions",
    "voice_agent_store_errors",
    "voice_agent_cost_usd",
)
"""Metric families the dashboard and alerts read from the API (`# TYPE` lines)."""
WORKER_SERIES = (*API_SERIES, "voice_agent_worker_registered", "voice_agent_worker_accepting")
HTTP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


async def check_service(
    client: httpx.AsyncClient, name: str, base_url: str, series: Sequence[str]
) -> list[Check]:
    base = base_url.rstrip("/")
    return [
        await _health(client, f"{name} /health", f"{base}/health"),
        await _metrics(client, f"{name} /metrics", f"{base}/metrics", series),
    ]


async def _health(client: httpx.AsyncClient, name: str, url: str) -> Check:
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return Check(name, False, f"cannot reach {url}: {error or type(error).__name__}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    status = body.get("status", "?") if isinstance(body, dict) else "?"
    components = body.get("components", {}) if isinstance(body, dict) else {}
    not_healthy = [
        f"{part} {info.get('status')} ({info.get('detail', '')})"
        for part, info in components.items()
        if isinstance(info, dict) and info.get("status") != "healthy"
    ]
    detail = f"HTTP {response.status_code}, {status}"
    if not_healthy:
        detail += "; " + "; ".join(not_healthy)
    return Check(name, response.status_code == 200, detail)


async def _metrics(client: httpx.AsyncClient, name: str, url: str, series: Sequence[str]) -> Check:
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return Check(name, False, f"cannot reach {url}: {error or type(error).__name__}")
    if response.status_code != 200:
        return Check(name, False, f"HTTP {response.status_code}")
    # Counters are typed under their `_total` name in the text format.
    typed = re.findall(r"^# TYPE (\S+) ", response.text, re.M)
    exposed = {name.removesuffix("_total") for name in typed} | set(typed)
    missing = [s for s in series if s not in exposed]
    if missing:
        return Check(name, False, f"missing series: {', '.join(missing)}")
    return Check(name, True, f"{len(series)} expected series exposed")


async def check_schema(database_url: str) -> Check:
    database = Database(database_url)
    try:
        current, head = await database.current_revision(), database.head_revision()
    except Exception as error:  # any driver's connection error
        return Check("database schema", False, f"cannot read the schema: {type(error).__name__}")
    finally:
        await database.dispose()
    if current != head:
        return Check(
            "database schema",
            False,
            f"at revision {current or 'none (empty database)'}, this version needs {head}: "
            "run `voice-agent migrate` (make migrate)",
        )
    return Check("database schema", True, f"at head ({head})")


async def check_livekit(settings: Settings, timeout_s: float) -> Check:
    try:
        control = livekit_control(settings, "check-deployment")
    except SystemExit as missing:
        return Check("livekit worker", False, str(missing))
    try:
        probe = await agent_answers(control, timeout_s)
    finally:
        await control.aclose()
    return Check("livekit worker", probe.answered, probe.detail)


async def run_checks(
    settings: Settings,
    api_url: str,
    worker_urls: Sequence[str],
    *,
    livekit: bool = True,
    dispatch_timeout_s: float = 10.0,
) -> list[Check]:
    checks: list[Check] = []
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
        checks += await check_service(client, "api", api_url, API_SERIES)
        for n, url in enumerate(worker_urls, 1):
            checks += await check_service(client, f"worker {n}", url, WORKER_SERIES)
    checks.append(await check_schema(settings.database_url))
    if livekit:
        checks.append(await check_livekit(settings, dispatch_timeout_s))
    return checks


def _run(args: argparse.Namespace) -> int:
    settings = Container().settings()
    checks = asyncio.run(
        run_checks(
            settings,
            args.api,
            args.worker or ["http://127.0.0.1:8081"],
            livekit=not args.skip_livekit,
            dispatch_timeout_s=args.dispatch_timeout,
        )
    )
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if not c.ok]
    if failed:
        print(f"deployment check failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("deployment check passed")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "check-deployment",
        help="check a running deployment: health, metrics, schema, LiveKit registration",
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the API's base URL")
    parser.add_argument(
        "--worker",
        action="append",
        metavar="URL",
        help="a worker's HTTP base URL (repeat per worker; default http://127.0.0.1:8081)",
    )
    parser.add_argument(
        "--skip-livekit", action="store_true", help="do not probe LiveKit's dispatch"
    )
    parser.add_argument(
        "--dispatch-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="how long a worker may take to answer the probe dispatch",
    )
    parser.set_defaults(handler=_run)
