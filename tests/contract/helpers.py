"""Shared helpers for the port contract suites."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from voice_agent.application.ports.stt import SpeechToTextSession, SttEvent
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.language import words

EVENT_TIMEOUT_S = 60.0
"""Generous: real local models on a loaded 2-core CI machine. Fakes answer in milliseconds."""


async def push_frames(
    session: SpeechToTextSession, audio: AudioChunk, frame_s: float = 0.02
) -> None:
    for frame in audio.split(frame_s):
        await session.push_audio(frame)


async def collect_until(
    events: AsyncIterator[SttEvent],
    done: Callable[[list[SttEvent]], bool],
    limit_s: float = EVENT_TIMEOUT_S,
) -> list[SttEvent]:
    """Read events until `done(events_so_far)` or the stream ends; fail on timeout."""
    seen: list[SttEvent] = []

    async def read() -> None:
        async for event in events:
            seen.append(event)
            if done(seen):
                return

    async with asyncio.timeout(limit_s):
        await read()
    return seen


def normalized_words(text: str) -> set[str]:
    return set(words(text))
