"""The TTS contract for `CartesiaTextToSpeech` (websocket and HTTP modes) against the fake
Cartesia server, plus the wire details: one context per reply with continuations, cancel
on early close, errors mid-stream, dropped sockets, bad credentials."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

import pytest
from fake_servers.cartesia import CartesiaFaults, FakeCartesiaServer

from tests.contract.tts_contract import LONG, SHORT, TextToSpeechContract
from voice_agent.adapters.cartesia import CartesiaSettings, CartesiaTextToSpeech
from voice_agent.application.ports.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from voice_agent.application.ports.tts import SynthesizedAudio, SynthesizedSpan, TtsEvent

KEY = "cartesia-test-key"
_OPEN: list[CartesiaTextToSpeech] = []


@pytest.fixture
async def server() -> AsyncIterator[FakeCartesiaServer]:
    async with FakeCartesiaServer() as srv:
        yield srv  # type: ignore[misc]
        while _OPEN:
            await _OPEN.pop().aclose()


def adapter(
    server: FakeCartesiaServer, *, key: str = KEY, websocket: bool = True, stall_s: float = 2.5
) -> CartesiaTextToSpeech:
    tts = CartesiaTextToSpeech(
        CartesiaSettings(
            api_key=key,
            base_url=server.url,
            websocket_url=server.ws_url,
            use_websocket=websocket,
            stall_timeout_s=stall_s,
        )
    )
    _OPEN.append(tts)
    return tts


@pytest.fixture(params=[True, False], ids=["websocket", "http-bytes"])
def tts(request: pytest.FixtureRequest, server: FakeCartesiaServer) -> CartesiaTextToSpeech:
    return adapter(server, websocket=request.param)


class TestCartesiaTextToSpeech(TextToSpeechContract):
    pass


async def _pieces(*pieces: str) -> AsyncIterator[str]:
    for piece in pieces:
        yield piece


async def _speak(tts: CartesiaTextToSpeech, *pieces: str) -> list[TtsEvent]:
    return [e async for e in tts.synthesize(_pieces(*pieces), sample_rate=16000)]


async def test_one_context_per_reply_with_continuations(server: FakeCartesiaServer) -> None:
    tts = adapter(server)
    await _speak(tts, "Good morning. ", "How are you?")
    await _speak(tts, SHORT)
    requests = server.connections[0].requests
    assert len(server.connections) == 1, "replies share one websocket"
    assert len({r["context_id"] for r in requests}) == 2
    first = [r for r in requests if r["context_id"] == requests[0]["context_id"]]
    assert [(r["transcript"], r["continue"]) for r in first] == [
        ("Good morning. ", True),
        ("How are you?", True),
        ("", False),
    ]
    assert first[0]["add_timestamps"] is True
    assert first[0]["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
    }
    assert server.connections[0].headers["Authorization"] == f"Bearer {KEY}"


async def test_word_timestamps_run_from_the_first_sample(server: FakeCartesiaServer) -> None:
    events = await _speak(adapter(server), "Good morning. ", "How are you?")
    spans = [e for e in events if isinstance(e, SynthesizedSpan)]
    assert [s.text for s in spans] == ["Good", "morning.", "How", "are", "you?"]
    assert spans[2].start == pytest.approx(0.4)


async def test_closing_early_cancels_the_context(server: FakeCartesiaServer) -> None:
    stream = adapter(server).synthesize(_pieces(LONG, LONG), sample_rate=16000)
    async for event in stream:
        if isinstance(event, SynthesizedAudio):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    context_id = server.connections[0].requests[0]["context_id"]
    await server.wait_until(lambda: context_id in server.connections[0].cancelled)


async def test_an_error_mid_stream_raises_provider_error(server: FakeCartesiaServer) -> None:
    server.faults = CartesiaFaults(error_after_chunks=2)
    tts = adapter(server)
    with pytest.raises(ProviderUnavailable):
        await _speak(tts, LONG)
    assert [e async for e in tts.synthesize(_pieces(SHORT), sample_rate=16000)]


async def test_a_dropped_socket_fails_the_reply_and_the_next_reply_reconnects(
    server: FakeCartesiaServer,
) -> None:
    server.faults = CartesiaFaults(drop_after_chunks=3)
    tts = adapter(server)
    with pytest.raises(ProviderUnavailable):
        await _speak(tts, LONG)
    assert any(isinstance(e, SynthesizedAudio) for e in await _speak(tts, SHORT))
    assert len(server.connections) == 2


async def test_unknown_message_types_are_ignored(server: FakeCartesiaServer) -> None:
    server.faults = CartesiaFaults(unknown_messages=True)
    events = await _speak(adapter(server), SHORT)
    assert any(isinstance(e, SynthesizedAudio) for e in events)


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "http-bytes"])
async def test_bad_credentials_fail_at_verify(server: FakeCartesiaServer, websocket: bool) -> None:
    with pytest.raises(ProviderAuthError) as failure:
        await adapter(server, key="sk_car_secret", websocket=websocket).verify()
    assert "sk_car_secret" not in str(failure.value)
    await adapter(server, websocket=websocket).verify()


async def test_a_refused_handshake_is_retryable(server: FakeCartesiaServer) -> None:
    server.faults = CartesiaFaults(reject_status=503, reject_count=1)
    with pytest.raises(ProviderError) as failure:
        await _speak(adapter(server), SHORT)
    assert failure.value.retryable


async def test_an_unsupported_rate_is_resampled(server: FakeCartesiaServer) -> None:
    events = [e async for e in adapter(server).synthesize(_pieces(SHORT), sample_rate=11025)]
    chunks = [e.chunk for e in events if isinstance(e, SynthesizedAudio)]
    assert {c.sample_rate for c in chunks} == {11025}
    assert sum(c.duration for c in chunks) == pytest.approx(0.4, abs=0.02)
    assert server.connections[0].requests[0]["output_format"]["sample_rate"] == 24000


async def _model_text(
    *phrases: str, pause_s: float = 0.0, more: asyncio.Event | None = None
) -> AsyncIterator[str]:
    """A model's phrases, `pause_s` apart; then, if `more` is given, it waits for it (the
    model is still thinking)."""
    for n, phrase in enumerate(phrases):
        if n:
            await asyncio.sleep(pause_s)
        yield phrase
    if more is not None:
        await more.wait()


async def test_a_cancelled_reply_leaves_no_task_behind(server: FakeCartesiaServer) -> None:
    tts = adapter(server)
    heard = asyncio.Event()

    async def reply() -> None:
        """Hears all the audio of the first phrase, then waits: the model is still busy."""
        chunks = 0
        text = _model_text(LONG, more=asyncio.Event())
        async for event in tts.synthesize(text, sample_rate=16000):
            chunks += isinstance(event, SynthesizedAudio)
            if chunks == len(LONG.split()):
                heard.set()

    await _speak(tts, SHORT)  # the socket and the SDK's message router are up
    with recording_tasks() as created:
        speaking = asyncio.create_task(reply())
        await heard.wait()
        speaking.cancel()  # barge-in
        await asyncio.gather(speaking, return_exceptions=True)
    context_id = server.connections[0].requests[-1]["context_id"]
    await server.wait_until(lambda: context_id in server.connections[0].cancelled)
    assert [t for t in created if not t.done()] == []


@contextlib.contextmanager
def recording_tasks() -> Iterator[list[asyncio.Task[Any]]]:
    """Every task created meanwhile, kept alive: a pending task that nothing refers to is
    garbage-collected ("Task was destroyed but it is pending!") and would escape
    `asyncio.all_tasks()`."""
    loop = asyncio.get_running_loop()
    created: list[asyncio.Task[Any]] = []
    factory = loop.get_task_factory()

    def record(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        created.append(task)
        return task

    loop.set_task_factory(record)  # type: ignore[arg-type]
    try:
        yield created
    finally:
        loop.set_task_factory(factory)


async def test_a_stream_that_stalls_after_its_first_audio_fails_within_the_bound(
    server: FakeCartesiaServer,
) -> None:
    server.faults = CartesiaFaults(stall_after_chunks=1)
    tts = adapter(server, stall_s=0.3)
    loop = asyncio.get_running_loop()
    audio_at: list[float] = []

    async def listen() -> None:
        async with asyncio.timeout(3):
            async for event in tts.synthesize(_pieces(LONG), sample_rate=16000):
                if isinstance(event, SynthesizedAudio):
                    audio_at.append(loop.time())

    with pytest.raises(ProviderTimeout):
        await listen()
    assert audio_at, "the stall came after the first audio"
    first_audio_at = audio_at[0]
    assert loop.time() - first_audio_at < 0.3 + 0.25
    assert any(isinstance(e, SynthesizedAudio) for e in await _speak(tts, SHORT))
    assert len(server.connections) == 2, "a stalled socket is not used again"


async def test_a_model_pausing_between_phrases_is_not_a_stall(server: FakeCartesiaServer) -> None:
    tts = adapter(server, stall_s=0.3)
    text = _model_text("Good morning. ", "How are you?", pause_s=1.0)
    events = [e async for e in tts.synthesize(text, sample_rate=16000)]
    spans = [e.text for e in events if isinstance(e, SynthesizedSpan)]
    assert spans == ["Good", "morning.", "How", "are", "you?"]
