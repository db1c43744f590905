"""The STT contract for `DeepgramSpeechToText`, against the fake Deepgram server, plus the
adapter's own duties: KeepAlive, Finalize, reconnection without lost words, bad keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from deepgram.listen.v1.socket_client import AsyncV1SocketClient
from deepgram.listen.v1.types.listen_v1results import ListenV1Results
from fake_servers.deepgram import DeepgramFaults, FakeDeepgramServer

from tests.contract.helpers import collect_until, push_frames
from tests.contract.stt_contract import SpeechToTextContract
from voice_agent.adapters.audio.signal import tone
from voice_agent.adapters.deepgram import DeepgramSettings, DeepgramSpeechToText
from voice_agent.adapters.deepgram.connection import DeepgramConnector
from voice_agent.adapters.deepgram.session import DeepgramSession
from voice_agent.application.ports.errors import ProviderAuthError, ProviderUnavailable
from voice_agent.application.ports.stt import (
    FinalTranscript,
    InterimTranscript,
    SttEvent,
    UtteranceEnded,
)
from voice_agent.domain.audio import AudioChunk

KEY = "deepgram-test-key"


@pytest.fixture
async def server() -> AsyncIterator[FakeDeepgramServer]:
    async with FakeDeepgramServer(default_transcript="I'd like to book a table") as srv:
        yield srv  # type: ignore[misc]


def adapter(server: FakeDeepgramServer, **overrides: object) -> DeepgramSpeechToText:
    settings = DeepgramSettings(api_key=KEY, url=server.ws_url)
    return DeepgramSpeechToText(
        DeepgramSettings(**{**_fields(settings), **overrides})  # type: ignore[arg-type]
    )


def _fields(settings: DeepgramSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


@pytest.fixture
def stt(server: FakeDeepgramServer) -> DeepgramSpeechToText:
    return adapter(server)


@pytest.fixture
def utterance() -> AudioChunk:
    return tone(1.2, 16000) + AudioChunk.silence(1.0, 16000)


@pytest.fixture
def expected_words() -> list[str]:
    return ["book", "table"]


class TestDeepgramSpeechToText(SpeechToTextContract):
    pass


def _finals(events: list[SttEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, FinalTranscript)]


def _speech_final(events: list[SttEvent]) -> bool:
    return any(isinstance(e, FinalTranscript) and e.speech_final for e in events)


async def test_the_socket_url_carries_the_configured_options(
    server: FakeDeepgramServer, stt: DeepgramSpeechToText
) -> None:
    session = await stt.open_session()
    await session.close()
    query = server.connections[0].query
    assert query["encoding"] == "linear16"
    assert query["sample_rate"] == "16000"
    assert query["interim_results"] == "true"
    assert query["vad_events"] == "true"
    assert server.connections[0].authorization == f"Token {KEY}"
    assert server.connections[0].controls == ["CloseStream"]


async def test_interim_results_come_before_the_final(
    stt: DeepgramSpeechToText, utterance: AudioChunk
) -> None:
    session = await stt.open_session()
    await push_frames(session, utterance)
    events = await collect_until(session.events(), _speech_final)
    await session.close()
    kinds = [type(e) for e in events]
    assert InterimTranscript in kinds
    assert kinds.index(InterimTranscript) < kinds.index(FinalTranscript)


async def test_keepalive_flows_while_the_caller_is_silent(server: FakeDeepgramServer) -> None:
    server.faults = DeepgramFaults(idle_timeout_s=1.0)
    session = await adapter(server, keepalive_interval_s=0.1).open_session()
    await server.wait_until(lambda: server.connections[0].controls.count("KeepAlive") >= 12)
    await session.close()
    assert not server.connections[0].closed_by_idle_timeout
    assert server.connections[0].controls[-1] == "CloseStream"


async def test_no_keepalive_while_audio_flows(
    server: FakeDeepgramServer, utterance: AudioChunk
) -> None:
    session = await adapter(server, keepalive_interval_s=60).open_session()
    await push_frames(session, utterance)
    await session.finalize()
    await session.close()
    assert server.connections[0].controls == ["Finalize", "CloseStream"]


async def test_a_socket_dropped_mid_utterance_loses_no_words(server: FakeDeepgramServer) -> None:
    server.transcripts.extend(["first question", "book a table for two"])
    session = await adapter(server).open_session()
    first = tone(0.6, 16000) + AudioChunk.silence(0.5, 16000)
    await push_frames(session, first)
    seen = await collect_until(session.events(), _speech_final)
    assert _finals(seen) == ["first question"]
    server.faults = DeepgramFaults(drop_after_audio_s=1.1 + 0.5, drops=1)
    await push_frames(session, tone(1.0, 16000) + AudioChunk.silence(0.6, 16000))
    seen = await collect_until(session.events(), _speech_final)
    await session.close()
    assert _finals(seen) == ["book a table for two"]
    assert len(server.connections) == 2
    resent = server.connections[1].audio_bytes / 2 / 16000
    assert resent >= 1.0, "the unfinalized speech was sent again on the new socket"


class _DiesAfterHandshake(DeepgramConnector):
    """Hands a socket the fake server closes right after its handshake to the session only
    once that close has reached it: the resend then finds the socket dead, as it does when
    the network drops it again in that instant (the race made certain)."""

    def __init__(self, server: FakeDeepgramServer, settings: DeepgramSettings) -> None:
        super().__init__(adapter(server)._connector._client, settings)
        self._server = server

    async def connect(self, stack: AsyncExitStack) -> AsyncV1SocketClient:
        socket = await super().connect(stack)
        if self._server.connections[-1].closed_after_handshake:
            await socket._websocket.wait_closed()
        return socket


async def _session_whose_resends_fail(
    server: FakeDeepgramServer, *, failing_reconnects: int, max_reconnects: int
) -> DeepgramSession:
    settings = DeepgramSettings(api_key=KEY, url=server.ws_url, max_reconnects=max_reconnects)
    session = DeepgramSession(_DiesAfterHandshake(server, settings), settings)
    await session.start()
    server.faults = DeepgramFaults(
        drop_after_audio_s=0.4, drops=1, close_after_handshake=failing_reconnects
    )
    return session


def _adapter_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("deepgram-")]


async def test_a_reconnect_whose_resend_fails_surfaces_as_a_provider_failure(
    server: FakeDeepgramServer,
) -> None:
    session = await _session_whose_resends_fail(server, failing_reconnects=2, max_reconnects=2)
    await push_frames(session, tone(0.6, 16000))
    with pytest.raises(ProviderUnavailable):
        async with asyncio.timeout(5):
            _ = [e async for e in session.events()]
    assert len(server.connections) == 3, "both reconnects were tried"
    await session.close()
    assert not _adapter_tasks(), "no task of the session is left running"


async def test_a_failed_resend_is_retried_and_loses_no_words(server: FakeDeepgramServer) -> None:
    server.transcripts.append("book a table for two")
    session = await _session_whose_resends_fail(server, failing_reconnects=1, max_reconnects=3)
    await push_frames(session, tone(1.0, 16000) + AudioChunk.silence(0.6, 16000))
    async with asyncio.timeout(5):
        seen = await collect_until(session.events(), _speech_final)
    await session.close()
    assert _finals(seen) == ["book a table for two"]
    assert len(server.connections) == 3
    assert server.connections[2].audio_bytes / 2 / 16000 >= 1.0, "all the speech was resent"


async def test_malformed_and_unknown_messages_are_skipped(server: FakeDeepgramServer) -> None:
    server.faults = DeepgramFaults(junk_messages=True)
    session = await adapter(server).open_session()
    await push_frames(session, tone(0.6, 16000) + AudioChunk.silence(0.5, 16000))
    seen = await collect_until(session.events(), _speech_final)
    await session.close()
    assert _finals(seen) == ["I'd like to book a table"]


async def test_bad_credentials_fail_at_verify(server: FakeDeepgramServer) -> None:
    stt = adapter(server, api_key="wrong")
    with pytest.raises(ProviderAuthError) as failure:
        await stt.verify()
    assert "wrong" not in str(failure.value)


async def test_an_unavailable_service_fails_with_provider_unavailable(
    server: FakeDeepgramServer,
) -> None:
    server.faults = DeepgramFaults(reject_status=503, reject_count=1)
    with pytest.raises(ProviderUnavailable):
        await adapter(server).open_session()


async def test_an_empty_speech_final_still_marks_the_end_of_the_utterance() -> None:
    session = DeepgramSession(None, DeepgramSettings(api_key=KEY))  # type: ignore[arg-type]
    metadata = {
        "request_id": "r",
        "model_info": {"name": "n", "version": "v", "arch": "a"},
        "model_uuid": "u",
    }
    for text, speech_final in (("book a table", False), ("", True)):
        message = {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": 1.0,
            "start": 0.0,
            "is_final": True,
            "speech_final": speech_final,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.9, "words": []}]},
            "metadata": metadata,
        }
        session._handle(ListenV1Results.model_validate(message))
    await session.close()
    events = [e async for e in session.events()]
    assert events == [FinalTranscript("book a table", confidence=0.9), UtteranceEnded()]
