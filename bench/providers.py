"""Latency the provider adapters add: Deepgram, Groq and Cartesia adapters (on their SDKs,
behind the resilience and metering decorators, exactly as a call uses them) against the
local fake servers with zero injected latency, on the wall clock.

Per turn, the three hand-offs on the caller's critical path:
- STT: from pushing the audio frame that completes the endpointing pause to receiving the
  `FinalTranscript(speech_final=True)`;
- LLM: from opening the stream to the first `TextDelta`;
- TTS: from the first text piece to the first `SynthesizedAudio`.
Their sum is the latency the adapters (and the fake servers, so an upper bound) add to a
turn. Target: p95 <= 10 ms.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

from fake_servers.cloud import FakeCloud

from bench.common import percentile
from voice_agent.adapters.audio.signal import tone
from voice_agent.application.ports.llm import TextDelta
from voice_agent.application.ports.stt import FinalTranscript, SpeechToTextSession, SttEvent
from voice_agent.application.ports.tts import SynthesizedAudio
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.history import ChatMessage, MessageRole
from voice_agent.domain.usage import UsageLedger

TURNS = int(os.environ.get("BENCH_TURNS", "200"))
WARMUP = 5
RATE = 8000
FRAME_S = 0.02
PROMPT = [
    ChatMessage(MessageRole.SYSTEM, "You are a receptionist."),
    ChatMessage(MessageRole.USER, "Are you open today?"),
]


async def _finals(events: AsyncIterator[SttEvent], out: asyncio.Queue[float]) -> None:
    async for event in events:
        if isinstance(event, FinalTranscript) and event.speech_final:
            out.put_nowait(time.perf_counter())


async def _stt_turn(session: SpeechToTextSession, finals: asyncio.Queue[float]) -> float:
    """Speech, then silence paced at 20 ms frames as on a phone line; times the frame after
    which the final arrives (the resampler's delay decides which frame that is)."""
    for frame in tone(0.3, RATE).split(FRAME_S):
        await session.push_audio(frame)
    silence = AudioChunk.silence(FRAME_S, RATE)
    async with asyncio.timeout(10):
        while True:
            pushed = time.perf_counter()
            await session.push_audio(silence)
            try:
                arrived = await asyncio.wait_for(finals.get(), FRAME_S)
            except TimeoutError:
                continue
            return arrived - pushed


async def _one(text: str) -> AsyncIterator[str]:
    yield text


async def run() -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"stt": [], "llm": [], "tts": [], "turn": []}
    async with FakeCloud() as cloud:
        providers = cloud.providers()
        await providers.verify()
        ports = providers.for_call(UsageLedger())
        session = await ports.stt.open_session()
        finals: asyncio.Queue[float] = asyncio.Queue()
        reader = asyncio.create_task(_finals(session.events(), finals))
        for n in range(WARMUP + TURNS):
            stt_s = await _stt_turn(session, finals)
            # Whole replies are read, as in a call without barge-in (an abandoned HTTP
            # stream cannot go back to the connection pool).
            llm_s = tts_s = 0.0
            started = time.perf_counter()
            async for event in ports.llm.stream(PROMPT):
                if isinstance(event, TextDelta) and not llm_s:
                    llm_s = time.perf_counter() - started
            started = time.perf_counter()
            speech = ports.tts.synthesize(_one("Yes, we are open until five."), sample_rate=RATE)
            async for out in speech:
                if isinstance(out, SynthesizedAudio) and not tts_s:
                    tts_s = time.perf_counter() - started
            if n >= WARMUP:
                for stage, seconds in (("stt", stt_s), ("llm", llm_s), ("tts", tts_s)):
                    timings[stage].append(seconds * 1000)
                timings["turn"].append((stt_s + llm_s + tts_s) * 1000)
        await session.close()
        await reader
        await providers.aclose()
    return timings


def main() -> None:
    timings = asyncio.run(run())
    print(f"turns measured: {TURNS} (after {WARMUP} warm-up turns), zero injected latency")
    print(f"{'':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  (ms)")
    for stage, values in timings.items():
        print(
            f"{stage:>6} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} "
            f"{percentile(values, 99):8.2f} {max(values):8.2f}"
        )
    p95 = percentile(timings["turn"], 95)
    print(f"per-turn p95 {p95:.2f} ms: target <= 10 ms {'met' if p95 <= 10 else 'NOT met'}")
