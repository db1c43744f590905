"""The web phone's calls end in the store, in the metrics and with their usage, whatever
ends them: the server shutting down, the handler being cancelled, a failure setting the
call up. Fakes behind an in-memory socket, on a fast-forwarded loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from dependency_injector import providers

from voice_agent.adapters.audio.energy_vad import EnergyVoiceActivityDetector
from voice_agent.adapters.fakes.llm import ScriptedLanguageModel
from voice_agent.adapters.fakes.repository import InMemoryCallRepository
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech
from voice_agent.adapters.observability.metrics import PrometheusMetrics
from voice_agent.adapters.turn_end.text import TextTurnEndDetector
from voice_agent.application.metering import MeteredTextToSpeech
from voice_agent.application.session.canned import CannedSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call, CallStatus, EndReason
from voice_agent.domain.usage import UsageLedger
from voice_agent.entrypoints.bootstrap.container import CallStore, Container, resolved
from voice_agent.entrypoints.bootstrap.settings import StackName
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech, Stack
from voice_agent.entrypoints.web.phone import WebPhone

pytestmark = pytest.mark.looptime


class MemorySocket:
    """The client's end of the WebSocket: it starts the call and then stays silent."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self.incoming.put_nowait(json.dumps({"type": "start"}))
        self.controls: list[dict[str, Any]] = []
        self.closed = False
        self.greeted = asyncio.Event()

    async def receive(self) -> bytes | str | None:
        return await self.incoming.get()

    async def send_bytes(self, data: bytes) -> None:
        pass

    async def send_text(self, data: str) -> None:
        control = json.loads(data)
        self.controls.append(control)
        if control == {**control, "type": "transcript", "role": "agent"}:
            self.greeted.set()

    async def close(self, code: int = 1000) -> None:
        self.closed = True

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [c for c in self.controls if c["type"] == kind]


class MeteredFakes:
    """Fake providers whose speech synthesis is metered, as on the cloud stack, swapped into
    the container's stack and store."""

    def __init__(self) -> None:
        self.repository = InMemoryCallRepository()
        self.metrics = PrometheusMetrics()
        self.tts = FakeTextToSpeech()
        self.broken = False

    def speech(self) -> CallSpeech:
        if self.broken:
            raise RuntimeError("could not open the call's providers")
        ledger = UsageLedger()
        tts = MeteredTextToSpeech(self.tts, "fake-tts", ledger)
        return CallSpeech(ScriptedSpeechToText(), ScriptedLanguageModel(), tts, ledger)

    async def phone(self) -> WebPhone:
        container = Container()
        container.stack.override(
            providers.Object(
                Stack(
                    StackName.FAKE,
                    SessionConfig(),
                    self.speech,
                    EnergyVoiceActivityDetector(),
                    CannedSpeech(self.tts),
                    TextTurnEndDetector(),
                )
            )
        )
        container.call_store.override(providers.Object(CallStore(self.repository)))
        return WebPhone(await resolved(container.runner()), "fake", sinks=[self.metrics])

    async def stored(self, socket: MemorySocket) -> Call:
        call = await self.repository.get(socket.of("ready")[0]["call_id"])
        assert call is not None
        return call

    def active_calls(self) -> float | None:
        return self.metrics.registry.get_sample_value("voice_agent_active_calls")


async def test_shutting_down_ends_calls_as_server_shutdown_with_their_usage() -> None:
    stack = MeteredFakes()
    phone = await stack.phone()
    socket = MemorySocket()
    call = asyncio.create_task(phone.handle(socket))
    await socket.greeted.wait()
    await phone.runner.shutdown(grace_s=5)
    assert call.done()
    stored = await stack.stored(socket)
    assert (stored.status, stored.end_reason) == (CallStatus.COMPLETED, EndReason.SERVER_SHUTDOWN)
    assert [u.provider for u in stored.usage] == ["fake-tts"]
    assert stack.active_calls() == 0
    assert socket.of("ended") == [{"type": "ended", "reason": "server_shutdown"}]
    assert socket.closed
    late = MemorySocket()
    assert await phone.handle(late) is None
    assert late.of("error") == [{"type": "error", "message": "the server is shutting down"}]


async def test_a_cancelled_call_is_stored_as_cancelled_with_its_usage() -> None:
    stack = MeteredFakes()
    socket = MemorySocket()
    call = asyncio.create_task((await stack.phone()).handle(socket))
    await socket.greeted.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    stored = await stack.stored(socket)
    assert (stored.status, stored.end_reason) == (CallStatus.FAILED, EndReason.CANCELLED)
    assert [u.provider for u in stored.usage] == ["fake-tts"]
    assert stack.active_calls() == 0
    assert socket.closed


async def test_a_call_that_cannot_be_set_up_is_refused_with_a_reason() -> None:
    stack = MeteredFakes()
    stack.broken = True
    phone = await stack.phone()
    socket = MemorySocket()
    assert await phone.handle(socket) is None
    assert socket.of("error") == [{"type": "error", "message": "the call could not be set up"}]
    assert socket.closed
    assert not phone.runner.sessions


async def test_a_client_that_breaks_a_limit_is_cut_off_and_stored_as_client_limit() -> None:
    stack = MeteredFakes()
    socket = MemorySocket()
    call = asyncio.create_task((await stack.phone()).handle(socket))
    await socket.greeted.wait()
    for _ in range(10):  # WEB_PHONE__MAX_PROTOCOL_ERRORS
        socket.incoming.put_nowait('{"type": "no such message"}')
    stored_call = await call
    assert stored_call is not None
    stored = await stack.stored(socket)
    assert (stored.status, stored.end_reason) == (CallStatus.COMPLETED, EndReason.CLIENT_LIMIT)
    assert socket.of("ended") == [{"type": "ended", "reason": "protocol_errors"}]
    assert stack.active_calls() == 0
    assert socket.closed
