"""The embedded local stack on this machine: start-up, voice-to-voice latency over many
turns, and how many simultaneous callers fit before p95 passes 1.5 s.

Callers are Piper-voiced WAV recordings played in real time through `WavCallerTransport`,
the same path as `voice-agent call CALLER.wav`; every number is measured by the engine
(`LatencyBreakdown`), from the end of the caller's speech to the first agent audio sent.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from dependency_injector import providers

from bench.common import percentile, rss_mb
from voice_agent.adapters.audio.signal import resample, trim_silence
from voice_agent.adapters.memory_line.wav_caller import WavCallerTransport
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.turn import LatencyBreakdown, Role
from voice_agent.entrypoints.bootstrap.container import Container, memory_store, resolved
from voice_agent.entrypoints.bootstrap.local_stack import LocalModels

QUESTIONS = [
    "Hello, are you open on Saturday?",
    "How much does a check-up cost?",
    "Can I book a cleaning for Tuesday?",
    "My name is Anna Smith.",
    "Do you do teeth whitening?",
    "What time do you close on Friday?",
    "Is there parking near the clinic?",
    "Are you open on Sunday?",
    "How long does a cleaning take?",
    "Can my son come with me?",
    "Do you take new patients?",
    "What is your address?",
    "Can I pay by card?",
    "I have a toothache, can you help?",
    "Is Monday morning possible?",
    "What about nine in the morning?",
    "Do I need to bring anything?",
    "How much is a filling?",
    "Can I change my appointment later?",
    "Thank you, that is all for now.",
    "Have a nice day.",
    "Do you have a dentist for children?",
]
CEILING_MS = 1500.0


REPLY_GAP_S = 1.5
"""Silence on the agent's track longer than this separates two replies (the caller speaks
in between, after the agent has finished)."""
QUIET_RMS = 200
"""A 20 ms frame of the agent's track quieter than this is a pause."""


@dataclass
class CallResult:
    latencies: list[LatencyBreakdown]
    wall_s: float
    reply_pauses_ms: list[float] = field(default_factory=list)
    """Per reply, its longest pause between its first and last sounds (Piper's own pauses
    at punctuation included); only when `one_call(keep_audio=True)`."""
    split_questions: int = 0
    """Caller turns stored less the questions asked (above zero: an utterance ended inside
    a question and the agent answered its first part)."""
    interrupted_replies: int = 0
    """Agent turns stored as interrupted (the caller went on while the agent spoke)."""


def reply_pauses_ms(track: AudioChunk) -> list[float]:
    """The longest pause inside each reply of the agent's track (16-bit mono)."""
    frame = track.sample_rate // 50
    samples = np.frombuffer(track.pcm, dtype="<i2").astype(np.float32)
    count = len(samples) // frame
    rms = np.sqrt((samples[: count * frame].reshape(count, frame) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms >= QUIET_RMS)
    pauses: list[float] = []
    longest = 0
    for previous, current in itertools.pairwise(loud):
        gap = int(current - previous - 1)
        if gap * 20 > REPLY_GAP_S * 1000:  # the next reply starts here
            pauses.append(longest * 20.0)
            longest = 0
        else:
            longest = max(longest, gap)
    if len(loud):
        pauses.append(longest * 20.0)
    return pauses


def caller_speech(models: LocalModels, questions: list[str]) -> list[AudioChunk]:
    return [trim_silence(resample(models.tts.render_blocking(q), 16000)) for q in questions]


async def one_call(
    models: LocalModels, utterances: list[AudioChunk], *, keep_audio: bool = False
) -> CallResult:
    """One call through the container's runner, on the models already loaded; with
    `keep_audio`, what the agent played is kept to measure the pauses inside its replies."""
    container = Container()
    stack = await models.stack(container.session_config(), container.turn_end())
    container.stack.override(providers.Object(stack))
    container.call_store.override(providers.Resource(memory_store))
    runner = await resolved(container.runner())
    transport = WavCallerTransport(utterances, keep_played_audio=keep_audio)
    started = time.perf_counter()
    call = await runner.run(transport)
    if call is None:
        raise RuntimeError("the call could not be set up")
    answers = [
        t.latency
        for t in call.turns
        if t.role is Role.AGENT and t.latency.e2e_ms is not None and t.index > 0
    ]
    wall_s = time.perf_counter() - started
    pauses = reply_pauses_ms(transport.agent_audio()) if keep_audio else []
    caller_turns = sum(t.role is Role.CALLER for t in call.turns)
    interrupted = sum(t.role is Role.AGENT and t.interrupted for t in call.turns)
    return CallResult(answers, wall_s, pauses, caller_turns - len(utterances), interrupted)


def stage_table(latencies: list[LatencyBreakdown]) -> list[str]:
    rows = ["| stage | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|"]
    for stage in ("eou", "stt", "llm_ttft", "tts_ttfb", "e2e"):
        values = [v for lat in latencies if (v := lat.as_dict()[stage]) is not None]
        if values:
            rows.append(
                f"| {stage} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} "
                f"| {max(values):.0f} |"
            )
    return rows


def main() -> None:
    rss_before = rss_mb()
    started = time.perf_counter()
    models = LocalModels.load(progress=lambda line: None)
    load_s = time.perf_counter() - started
    config = LocalModels.tune(Container().session_config())
    asyncio.run(models.warm(config, 16000))
    ready_s = time.perf_counter() - started
    rss_loaded = rss_mb()
    print("## Local stack\n")
    print(f"Command: `make bench` (or `.venv/bin/python -m bench local`); {os.cpu_count()} cores.")
    print(
        f"\nStart-up: models loaded in {load_s:.2f} s "
        f"({', '.join(f'{k} {v:.2f} s' for k, v in models.load_seconds.items())}); "
        "ready (system prompt prefilled, Piper warmed up on the greeting, apology "
        f"pre-rendered) in {ready_s:.2f} s. "
        f"Resident memory: {rss_before:.0f} MiB before, {rss_loaded:.0f} MiB with all models."
    )

    utterances = caller_speech(models, QUESTIONS)
    single = asyncio.run(one_call(models, utterances))
    e2e = [lat.e2e_ms for lat in single.latencies if lat.e2e_ms is not None]
    print(
        f"\nOne caller, {len(e2e)} answered turns (Piper-voiced questions, real time): "
        f"voice-to-voice p50 {percentile(e2e, 50):.0f} ms, p95 {percentile(e2e, 95):.0f} ms, "
        f"max {max(e2e):.0f} ms, mean {statistics.fmean(e2e):.0f} ms. "
        f"RSS after the call: {rss_mb():.0f} MiB.\n"
    )
    print("\n".join(stage_table(single.latencies)))

    print("\nSimultaneous callers (each asks 6 questions; p95 over all answered turns):\n")
    print("| callers | turns | p50 ms | p95 ms | max ms |")
    print("|---:|---:|---:|---:|---:|")
    sustained = 0
    for callers in (1, 2, 3, 4, 6):
        batches = [utterances[i * 3 % 16 : i * 3 % 16 + 6] for i in range(callers)]

        async def together(batches: list[list[AudioChunk]] = batches) -> list[CallResult]:
            return await asyncio.gather(*(one_call(models, b) for b in batches))

        results = asyncio.run(together())
        values = [lat.e2e_ms for r in results for lat in r.latencies if lat.e2e_ms is not None]
        p95 = percentile(values, 95)
        print(
            f"| {callers} | {len(values)} | {percentile(values, 50):.0f} | {p95:.0f} "
            f"| {max(values):.0f} |",
            flush=True,
        )
        if p95 > CEILING_MS:
            break
        sustained = callers
    print(
        f"\nSimultaneous callers within the 1.5 s ceiling at p95: {sustained}. "
        f"Peak RSS: {rss_mb():.0f} MiB.",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
