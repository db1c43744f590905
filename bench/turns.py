"""End-of-turn evaluation: the engine's end-of-turn decision on a labelled set of caller
turns, as `python -m bench turns [--cases FILE.tsv] [--json] [--part all|dev|held-out]
[--detector text|model|combined]`.

Each line of the cases file is `finished` or `unfinished`, a tab, and the caller's words as
a recognizer would punctuate them when the caller falls silent; lines starting with `#` are
comments, and a comment containing "held-out" starts the held-out part (lines the rules
were not tuned on). The detector is the one the engine would use with the current settings
(`ENGINE__END_OF_TURN`; by default `auto`, the local stack's choice) unless `--detector`
names another. Detectors that need audio hear
each case's words voiced by Piper through a phone band (8 kHz and back to 16 kHz), as the
engine gives them: the speech, then as much silence as the detector asks to hear
(`TurnEndDetector.trailing_silence_s`, 0.3 s for Smart Turn); only the detector's own time
counts as decision time. It prints the false-wait rate (finished turns judged unfinished: the
caller waits the long delay), the cut-off rate (unfinished turns judged finished: the
agent answers half a sentence) and the time per decision, for the whole set and each part;
with `--json` one object for the chosen part (default: all):
`{"cases": N, "false_wait": r, "cut_off": r, "decision_ms": {"p50": x, "p95": y}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import percentile
from voice_agent.entrypoints.bootstrap.settings import EndOfTurnName, Settings

DEFAULT_CASES = Path(__file__).parent / "data" / "turns.tsv"
LABELS = {"finished": True, "unfinished": False}
PARTS = ("all", "dev", "held-out")


class CasesError(ValueError):
    """The cases file cannot be used (the message names the line and the reason)."""


@dataclass(frozen=True, slots=True)
class Case:
    line: int
    finished: bool
    text: str
    held_out: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    judged_finished: bool
    decision_ms: float


def parse_cases(source: str, name: str = "cases") -> list[Case]:
    cases: list[Case] = []
    held_out = False
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            held_out = held_out or "held-out" in line.lower()
            continue
        label, tab, text = line.partition("\t")
        where = f"{name}:{number}"
        if not tab:
            raise CasesError(f"{where}: expected `finished` or `unfinished`, a tab, the text")
        if label not in LABELS:
            raise CasesError(
                f"{where}: unknown label {label!r} (expected `finished` or `unfinished`)"
            )
        if not text.strip():
            raise CasesError(f"{where}: the caller's words are missing after the tab")
        if "\t" in text:
            raise CasesError(f"{where}: more than one tab (the text may not contain tabs)")
        cases.append(Case(number, LABELS[label], text.strip(), held_out))
    if not cases:
        raise CasesError(f"{name}: no cases (every line is empty or a comment)")
    return cases


async def evaluate(cases: list[Case], detector: Any) -> list[Outcome]:
    outcomes = []
    voice = _phone_voice(detector.trailing_silence_s) if detector.needs_audio else None
    for case in cases:
        audio = voice(case.text) if voice is not None else None
        started = time.perf_counter()
        verdict = await detector.assess(case.text, audio)
        elapsed_ms = (time.perf_counter() - started) * 1000
        outcomes.append(Outcome(case, verdict.finished, elapsed_ms))
    return outcomes


def _phone_voice(silence_s: float) -> Callable[[str], Any]:
    """Renders text as a caller on the phone would sound: Piper, band-limited to 8 kHz."""
    from voice_agent.adapters.audio.signal import resample, trim_silence
    from voice_agent.adapters.local.piper import PiperTextToSpeech
    from voice_agent.domain.audio import AudioChunk

    piper = PiperTextToSpeech.load()

    def voice(text: str) -> Any:
        phone = resample(piper.render_blocking(text), 8000)
        return trim_silence(resample(phone, 16000)) + AudioChunk.silence(silence_s, 16000)

    return voice


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    finished = [o for o in outcomes if o.case.finished]
    unfinished = [o for o in outcomes if not o.case.finished]
    times = [o.decision_ms for o in outcomes]
    return {
        "cases": len(outcomes),
        "false_wait": _rate(sum(not o.judged_finished for o in finished), len(finished)),
        "cut_off": _rate(sum(o.judged_finished for o in unfinished), len(unfinished)),
        "decision_ms": {
            "p50": round(percentile(times, 50), 4),
            "p95": round(percentile(times, 95), 4),
        },
    }


def _rate(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def select(outcomes: list[Outcome], part: str) -> list[Outcome]:
    chosen = set(select_cases([o.case for o in outcomes], part))
    return [o for o in outcomes if o.case in chosen]


def select_cases(cases: list[Case], part: str) -> list[Case]:
    if part == "dev":
        return [c for c in cases if not c.held_out]
    if part == "held-out":
        return [c for c in cases if c.held_out]
    return cases


def report(outcomes: list[Outcome], detector_name: str) -> None:
    print(f"detector: {detector_name}")
    for part in PARTS:
        chosen = select(outcomes, part)
        if not chosen:
            continue
        figures = summary(chosen)
        n_fin = sum(o.case.finished for o in chosen)
        print(
            f"{part:>9}: {figures['cases']:3d} cases ({n_fin} finished)  "
            f"false waits {figures['false_wait']:6.1%}  cut-offs {figures['cut_off']:6.1%}  "
            f"decision p50 {figures['decision_ms']['p50']:.4f} ms  "
            f"p95 {figures['decision_ms']['p95']:.4f} ms"
        )
    for outcome in outcomes:
        if outcome.judged_finished != outcome.case.finished:
            kind = "false wait" if outcome.case.finished else "cut-off"
            part = "held-out" if outcome.case.held_out else "dev"
            print(f"  {kind:10} line {outcome.case.line:3d} ({part}): {outcome.case.text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench turns", description=__doc__)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--part", choices=PARTS, default="all", help="part for --json")
    parser.add_argument(
        "--detector",
        choices=[name.value for name in EndOfTurnName],
        help="end-of-turn detector (default: the one ENGINE__END_OF_TURN selects)",
    )
    args = parser.parse_args(argv if argv is not None else [])
    try:
        source = args.cases.read_text(encoding="utf-8")
        cases = parse_cases(source, str(args.cases))
    except (OSError, UnicodeDecodeError, CasesError) as error:
        print(f"cannot use the cases file: {error}", file=sys.stderr)
        return 2
    if args.json and not select_cases(cases, args.part):
        print(f"cannot use the cases file: no {args.part} cases", file=sys.stderr)
        return 2

    from voice_agent.entrypoints.bootstrap.turn_end import turn_end_detector

    settings = Settings()
    if args.detector is not None:
        settings.engine.end_of_turn = EndOfTurnName(args.detector)
    detector = turn_end_detector(settings)
    outcomes = asyncio.run(evaluate(cases, detector))
    if args.json:
        print(json.dumps(summary(select(outcomes, args.part))))
    else:
        report(outcomes, getattr(detector, "name", settings.engine.end_of_turn.value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
