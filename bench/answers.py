"""The local agent's answers: a fixed set of caller questions put to SmolLM2 on llama.cpp
exactly as a call would, as `python -m bench answers [--questions FILE] [--json]
[--set NAME=VALUE ...]`.

The questions file holds one call per paragraph, one caller turn a line (`#` comments). Each
call starts from the persona and greeting of the current settings (`SYSTEM_PROMPT_FILE`,
`GREETING`), the model's system prompt is warmed once as the local stack does, and every
turn is the engine's request: the call's `DialogueHistory` (greeting and earlier answers
included) as `for_model()` gives it, the answer cut into phrases by the engine's
`PhraseAggregator` and kept in the history as the caller heard it. Sampling is the adapter's
`SamplingSettings` unless `--set` overrides a field (`--set temperature=0 --set
max_sentences=1`), which is how settings are compared; the sampling seed is fixed, so runs
with the same settings give the same answers.

Checks per answer: `empty`, `long` (over `MAX_WORDS` words: too long for a phone answer),
`opener` (condolences, "As an AI" and the like), `repeat` (its word set overlaps an earlier
answer of the same call by a Jaccard index over `REPEAT_JACCARD`). Latency figures (first
token, tokens per second) are only indicative on a busy machine. With `--json` it prints one
object: `{"settings": {...}, "answers": [...], "summary": {...}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import percentile
from voice_agent.adapters.local.llama import LlamaCppLanguageModel, SamplingSettings
from voice_agent.application.phrases import PhraseAggregator
from voice_agent.application.ports.llm import TextDelta, UsageReport
from voice_agent.application.session.config import SessionConfig
from voice_agent.application.session.reply import ModelRequest
from voice_agent.domain.history import DialogueHistory
from voice_agent.entrypoints.bootstrap.container import session_config
from voice_agent.entrypoints.bootstrap.settings import Settings

DEFAULT_QUESTIONS = Path(__file__).parent / "data" / "answer_questions.txt"
MAX_WORDS = 30
"""More words than a phone answer should hold (two short sentences are about 20-25)."""
REPEAT_JACCARD = 0.7
"""Above this the answer is an earlier one with a word or two changed ("What about a filling?"
and "And whitening?" answered alike score 0.71-0.85; different answers stay under 0.3)."""
BAD_OPENER = re.compile(
    r"\b(sorry for your loss|condolences|my (deepest )?sympathies|as an ai|"
    r"i am an ai|i'm an ai|language model)\b",
    re.IGNORECASE,
)
"""Words a receptionist never says: condolences, or admitting to be a model."""
WORD = re.compile(r"[a-z0-9']+")


class QuestionsError(ValueError):
    """The questions file cannot be used (the message names the file and the reason)."""


@dataclass(frozen=True, slots=True)
class Answer:
    call: int
    turn: int
    question: str
    text: str
    first_token_ms: float
    tokens_per_s: float
    flags: tuple[str, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


def parse_calls(source: str, name: str = "questions") -> list[list[str]]:
    calls: list[list[str]] = [[]]
    for raw in source.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line:
            if calls[-1]:
                calls.append([])
            continue
        calls[-1].append(line)
    calls = [c for c in calls if c]
    if not calls:
        raise QuestionsError(f"{name}: no caller questions (one call per paragraph)")
    return calls


def word_set(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def jaccard(a: str, b: str) -> float:
    x, y = word_set(a), word_set(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def flags_for(text: str, earlier: list[str]) -> tuple[str, ...]:
    flags: list[str] = []
    if not text.strip():
        flags.append("empty")
    if len(text.split()) > MAX_WORDS:
        flags.append("long")
    if BAD_OPENER.search(text):
        flags.append("opener")
    if text.strip() and any(jaccard(text, e) > REPEAT_JACCARD for e in earlier if e.strip()):
        flags.append("repeat")
    return tuple(flags)


async def ask(
    llm: LlamaCppLanguageModel, config: SessionConfig, history: DialogueHistory
) -> tuple[str, float, float]:
    """One turn as the engine makes it: the answer as spoken, ms to the first token, and
    tokens per second after it."""
    request = ModelRequest(history.for_model())
    aggregator = PhraseAggregator(config.phrases)
    phrases: list[str] = []
    started = time.perf_counter()
    first: float | None = None
    completion = 0
    async for event in llm.stream(request.messages, request.tools):
        if isinstance(event, TextDelta):
            first = first or time.perf_counter()
            phrases += aggregator.push(event.text)
        elif isinstance(event, UsageReport):
            completion = event.completion_tokens
    ended = time.perf_counter()
    phrases += aggregator.flush()
    first_ms = ((first or ended) - started) * 1000
    rate = (completion - 1) / (ended - first) if first and completion > 1 else 0.0
    return " ".join(phrases), first_ms, rate


async def run_calls(
    llm: LlamaCppLanguageModel, config: SessionConfig, calls: list[list[str]]
) -> list[Answer]:
    await llm.warm(config.system_prompt)
    answers: list[Answer] = []
    for number, questions in enumerate(calls, start=1):
        history = DialogueHistory(config.system_prompt, config.history_token_budget)
        history.add_assistant(config.prompts.greeting)
        said: list[str] = []
        for turn, question in enumerate(questions, start=1):
            history.add_user(question)
            text, first_ms, rate = await ask(llm, config, history)
            answers.append(
                Answer(number, turn, question, text, first_ms, rate, flags_for(text, said))
            )
            said.append(text)
            history.add_assistant(text)
    return answers


def summary(answers: list[Answer]) -> dict[str, Any]:
    firsts = [a.first_token_ms for a in answers]
    rates = [a.tokens_per_s for a in answers if a.tokens_per_s > 0]
    return {
        "answers": len(answers),
        "flagged": {
            flag: sum(flag in a.flags for a in answers)
            for flag in ("empty", "long", "opener", "repeat")
        },
        "words": {
            "mean": round(statistics.fmean(a.words for a in answers), 1),
            "max": max(a.words for a in answers),
        },
        "first_token_ms": {
            "p50": round(percentile(firsts, 50), 1),
            "p95": round(percentile(firsts, 95), 1),
        },
        "tokens_per_s": round(statistics.median(rates), 1) if rates else 0.0,
    }


def sampling_with(overrides: list[str]) -> SamplingSettings:
    """`SamplingSettings` with `NAME=VALUE` overrides, each converted to the field's type."""
    base = SamplingSettings()
    fields = {f.name: type(getattr(base, f.name)) for f in dataclasses.fields(base)}
    changes: dict[str, Any] = {}
    for item in overrides:
        name, equals, value = item.partition("=")
        if not equals or name not in fields:
            raise QuestionsError(
                f"--set {item!r}: expected NAME=VALUE with NAME one of {', '.join(fields)}"
            )
        try:
            if fields[name] is bool:
                changes[name] = {"true": True, "false": False}[value.lower()]
            else:
                changes[name] = fields[name](value)
        except (KeyError, ValueError):
            kind = fields[name].__name__
            raise QuestionsError(f"--set {item!r}: {value!r} is not a {kind}") from None
    return dataclasses.replace(base, **changes)


def print_report(answers: list[Answer], sampling: SamplingSettings) -> None:
    print(f"sampling: {sampling}")
    for a in answers:
        if a.turn == 1:
            print(f"\ncall {a.call}")
        marks = f"  [{', '.join(a.flags)}]" if a.flags else ""
        print(f"  caller: {a.question}")
        print(
            f"  agent:  {a.text}  ({a.words} words, first token {a.first_token_ms:.0f} ms, "
            f"{a.tokens_per_s:.0f} tok/s){marks}"
        )
    s = summary(answers)
    flagged = ", ".join(f"{k} {v}" for k, v in s["flagged"].items())
    print(
        f"\n{s['answers']} answers; flagged: {flagged}; words mean {s['words']['mean']}, "
        f"max {s['words']['max']}; first token p50 {s['first_token_ms']['p50']} ms, "
        f"p95 {s['first_token_ms']['p95']} ms; {s['tokens_per_s']} tok/s"
    )


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench answers")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    options = parser.parse_args([] if args is None else args)
    try:
        source = options.questions.read_text(encoding="utf-8")
        calls = parse_calls(source, str(options.questions))
        sampling = sampling_with(options.set)
    except (OSError, QuestionsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    llm = LlamaCppLanguageModel.load(sampling=sampling)
    answers = asyncio.run(run_calls(llm, session_config(Settings()), calls))
    if options.json:
        report = {
            "settings": dataclasses.asdict(sampling),
            "answers": [
                {**dataclasses.asdict(a), "words": a.words, "flags": list(a.flags)} for a in answers
            ],
            "summary": summary(answers),
        }
        print(json.dumps(report, indent=2))
    else:
        print_report(answers, sampling)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
