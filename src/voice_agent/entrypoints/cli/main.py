"""The `voice-agent` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.observability.logging import CallLogContext, configure_logging
from voice_agent.adapters.sqlalchemy import Database, SchemaBehindError
from voice_agent.application.ports.errors import ProviderAuthError
from voice_agent.application.ports.repository import CallRepository
from voice_agent.domain.call import Call
from voice_agent.entrypoints.bootstrap.container import Container, resolved, shut_down
from voice_agent.entrypoints.bootstrap.env_catalog import describe_settings_error

if TYPE_CHECKING:
    from voice_agent.entrypoints.scripted.file_call import FileCall as FileCallResult
from voice_agent.entrypoints.bootstrap.store import call_store_on_own_loop
from voice_agent.entrypoints.cli import check_deployment, sip
from voice_agent.entrypoints.scripted.report import call_as_json, call_as_text
from voice_agent.entrypoints.scripted.runner import build_scripted_call, run_fast_forwarded
from voice_agent.entrypoints.scripted.scenario import Scenario, ScenarioError, load_scenario

T = TypeVar("T")


def _call(args: argparse.Namespace) -> int:
    if (args.script is None) == (args.wav is None):
        print("voice-agent call: give CALLER.wav or --script SCENARIO.yaml", file=sys.stderr)
        return 2
    if args.wav is not None:
        return _file_call(args)
    if args.out is not None:
        print("voice-agent call: --out needs CALLER.wav", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(Path(args.script))
    except ScenarioError as error:
        print(f"voice-agent call: {error}", file=sys.stderr)
        return 2
    container = Container()
    run = run_fast_forwarded if not args.realtime else _run_on_wall_clock
    try:
        store: contextlib.AbstractContextManager[CallRepository] = (
            call_store_on_own_loop(container.settings().database_url)
            if args.store
            else contextlib.nullcontext(InMemoryCallRepository())
        )
        with store as repository:
            call = run(lambda: _until_sigterm(_run_scripted(scenario, container, repository)))
    except SchemaBehindError as error:
        print(f"voice-agent call: {error}", file=sys.stderr)
        return 2
    except asyncio.CancelledError:
        return _stopped()
    _print_call(call, as_json=args.json)
    return 0


async def _until_sigterm(main: Coroutine[Any, Any, T]) -> T:
    """Run `main`; SIGTERM cancels it, so the call in progress is ended as `cancelled` and
    stored (with its turns) before the process exits."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _stopped() -> int:
    print("voice-agent call: stopped by SIGTERM; the call is stored as cancelled", file=sys.stderr)
    return 128 + signal.SIGTERM


def _print_call(call: Call, *, as_json: bool) -> None:
    print(json.dumps(call_as_json(call)) if as_json else call_as_text(call))


def _file_call(args: argparse.Namespace) -> int:
    """A WAV caller on the local stack, in real time; the agent's side to `--out`."""
    from voice_agent.adapters.audio.wav import BadWavFile, write_wav
    from voice_agent.entrypoints.scripted.file_call import (
        NoSpeechInFile,
        caller_utterances,
        file_call_container,
        run_file_call,
    )

    container = Container()
    wav = Path(args.wav)
    if not wav.is_file():
        print(f"voice-agent call: {wav}: no such file", file=sys.stderr)
        return 2
    try:
        utterances = caller_utterances(wav)
    except (BadWavFile, NoSpeechInFile) as error:
        print(f"voice-agent call: {error}", file=sys.stderr)
        return 2
    container = file_call_container(container, store=args.store)

    async def main() -> FileCallResult:
        try:
            return await run_file_call(
                utterances, await resolved(container.runner()), [CallLogContext()]
            )
        finally:
            await shut_down(container)

    try:
        result = asyncio.run(_until_sigterm(main()))
    except SchemaBehindError as error:
        print(f"voice-agent call: {error}", file=sys.stderr)
        return 2
    except asyncio.CancelledError:
        return _stopped()
    if args.out is not None:
        write_wav(Path(args.out), result.transport.agent_audio())
    _print_call(result.call, as_json=args.json)
    return 0


async def _run_scripted(
    scenario: Scenario, container: Container, repository: CallRepository
) -> Call:
    """One scripted call. A SQL store runs on its own loop (`call_store_on_own_loop`): the
    call's loop may be fast-forwarded."""
    scripted = build_scripted_call(
        scenario,
        base=container.session_config(),
        repository=repository,
        sinks=[CallLogContext()],
    )
    return await scripted.run()


def _run_on_wall_clock(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(main())


def _serve(args: argparse.Namespace) -> int:
    from voice_agent.adapters.observability.logging import configure_logging
    from voice_agent.entrypoints.web.app import create_server_app, websocket_max_bytes
    from voice_agent.entrypoints.web.guard import is_loopback
    from voice_agent.entrypoints.web.server import run_server

    settings = Container().settings()
    configure_logging(json=settings.log_json, level="INFO")
    public = not is_loopback(args.host)
    if public and settings.api_key is None:
        print(
            f"voice-agent serve: --host {args.host} is reachable from the network: set API_KEY "
            "first (the web phone and /calls then need it), or bind 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    try:
        app = create_server_app(settings, public=public)
        run_server(
            app,
            host=args.host,
            port=args.port,
            grace_s=settings.shutdown_grace_s,
            ws_max_size=websocket_max_bytes(settings),
        )
    except SchemaBehindError as error:
        print(f"voice-agent serve: {error}", file=sys.stderr)
        return 2
    return 0


def _worker(args: argparse.Namespace) -> int:
    from voice_agent.entrypoints.worker.main import run_worker

    container = Container()
    settings = container.settings()
    configure_logging(json=settings.log_json, level="INFO")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(container, stop)

    try:
        asyncio.run(main())
    except SchemaBehindError as error:
        print(f"voice-agent worker: {error}", file=sys.stderr)
        return 2
    except ProviderAuthError as error:
        print(f"voice-agent worker: {error}", file=sys.stderr)
        return 2
    return 0


def _migrate(args: argparse.Namespace) -> int:
    url = Container().settings().database_url

    async def run() -> str | None:
        database = Database(url)
        try:
            await database.migrate()
            return await database.current_revision()
        finally:
            await database.dispose()

    print(f"database schema at revision {asyncio.run(run())}")
    return 0


def _config(args: argparse.Namespace) -> int:
    choice = Container().stack()
    print(f"stack: {choice.name.value} ({choice.reason})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice-agent", description="A telephone voice agent.")
    commands = parser.add_subparsers(dest="command", required=True)
    call = commands.add_parser("call", help="run one whole call and print its transcript")
    call.add_argument(
        "wav",
        nargs="?",
        metavar="CALLER.wav",
        help="a recorded caller (16-bit PCM): utterances separated by pauses, each played "
        "after the agent's reply; runs in real time on the local models",
    )
    call.add_argument("--script", metavar="SCENARIO.yaml", help="a scripted call on fakes")
    call.add_argument(
        "--stack", choices=["local"], default="local", help="the models a CALLER.wav call uses"
    )
    call.add_argument("--out", metavar="AGENT.wav", help="write the agent's side of the call")
    call.add_argument("--json", action="store_true", help="print one JSON object")
    call.add_argument(
        "--realtime", action="store_true", help="run on the wall clock instead of fast-forwarding"
    )
    call.add_argument(
        "--store", action="store_true", help="store the call in the database (DATABASE_URL)"
    )
    call.set_defaults(handler=_call)
    serve = commands.add_parser("serve", help="run the HTTP server (API and web phone)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)
    worker = commands.add_parser(
        "worker", help="take phone calls from LiveKit's agent dispatch (LIVEKIT_URL, key, secret)"
    )
    worker.set_defaults(handler=_worker)
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=_migrate)
    config = commands.add_parser("config", help="show which stack runs and why")
    config.set_defaults(handler=_config)
    check_deployment.register(commands)
    sip.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging(json=Container().settings().log_json, level="WARNING")
        code: int = args.handler(args)
    except ValidationError as error:
        # Bad settings (environment or .env): name each variable, never echo its value.
        print(f"voice-agent: {describe_settings_error(error)}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
