"""The `voice-agent` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from voice_agent.entrypoints.container import Container
from voice_agent.entrypoints.report import call_as_json, call_as_text
from voice_agent.entrypoints.scenario import ScenarioError, load_scenario
from voice_agent.entrypoints.scripted_call import run_scenario


def _call(args: argparse.Namespace) -> int:
    if args.script is None:
        print("voice-agent call: give --script SCENARIO.yaml", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(Path(args.script))
    except ScenarioError as error:
        print(f"voice-agent call: {error}", file=sys.stderr)
        return 2
    container = Container()
    call = run_scenario(
        scenario,
        realtime=args.realtime,
        base=container.session_config(),
        repository=container.repository(),
    ).session.call
    if args.json:
        print(json.dumps(call_as_json(call)))
    else:
        print(call_as_text(call))
    return 0


def _config(args: argparse.Namespace) -> int:
    choice = Container().stack()
    print(f"stack: {choice.name.value} ({choice.reason})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice-agent", description="A telephone voice agent.")
    commands = parser.add_subparsers(dest="command", required=True)
    call = commands.add_parser("call", help="run one whole call and print its transcript")
    call.add_argument("--script", metavar="SCENARIO.yaml", help="a scripted call on fakes")
    call.add_argument("--json", action="store_true", help="print one JSON object")
    call.add_argument(
        "--realtime", action="store_true", help="run on the wall clock instead of fast-forwarding"
    )
    call.set_defaults(handler=_call)
    config = commands.add_parser("config", help="show which stack runs and why")
    config.set_defaults(handler=_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
