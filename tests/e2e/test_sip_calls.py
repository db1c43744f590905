"""Phone calls over SIP, the whole way, on one machine: a SIP user agent (baresip, speaking
G.711 over RTP as a carrier does) calls a number provisioned with `voice-agent sip setup`;
the real LiveKit SIP service answers it into a room of the real LiveKit server; the server
dispatches it to `voice-agent worker`'s code (`run_worker`, on scripted fakes so that what is
said is known), which answers, listens, is interrupted, gets DTMF, and stores the call.

What the caller hears is baresip's recording of the decoded RTP, read while the call goes
on; what the caller says are WAV files switched in as the call goes (bench/sip_phone.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from bench.sip_phone import PHONE_RATE, BaresipPhone, PhoneEvent, loud_windows, utterance
from dependency_injector import providers

from tests.agent_server import BIN
from tests.e2e.test_livekit_worker import worker_settings
from tests.livekit_servers import LiveKitServers, LiveKitUnavailable, free_udp_and_tcp_port
from voice_agent.adapters.fakes.llm import ScriptedLanguageModel, ScriptedReply, ScriptedToolCall
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call, CallStatus, EndReason
from voice_agent.domain.events import CallEnded, DomainEvent, DtmfReceived, ProviderFailed
from voice_agent.domain.turn import Role
from voice_agent.entrypoints.bootstrap.container import (
    CallStore,
    Container,
    memory_store,
    resolved,
)
from voice_agent.entrypoints.bootstrap.fake_stack import scripted_stack
from voice_agent.entrypoints.bootstrap.settings import Settings
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech
from voice_agent.entrypoints.worker.main import run_worker

pytestmark = pytest.mark.slow

NUMBER = "+74951234567"
"""The agent's number on the trunk (a Moscow number, as Novofon gives)."""
AGENT_NAME = "receptionist-sip"
CALL_TIMEOUT_S = 30.0
LONG_REPLY = (
    "Of course. We have tables at six, at seven and at half past eight tonight, "
    "and on the terrace if the weather holds. Which would you like?"
)


@pytest.fixture(scope="module")
def sip_servers() -> Iterator[LiveKitServers]:
    """Redis, livekit-server and livekit-sip on loopback, provisioned by `voice-agent sip
    setup` for NUMBER: an inbound trunk taking INVITEs from loopback and an individual
    dispatch rule naming our agent."""
    servers = LiveKitServers(sip=True)
    try:
        servers.start()
    except LiveKitUnavailable as error:
        pytest.fail(f"the LiveKit server and SIP service are needed for this test: {error}")
    environment = {
        **os.environ,
        "LIVEKIT_URL": servers.ws_url,
        "LIVEKIT_API_KEY": servers.api_key,
        "LIVEKIT_API_SECRET": servers.api_secret,
        "LIVEKIT_AGENT_NAME": AGENT_NAME,
        "SIP__INBOUND_NUMBERS": NUMBER,
        "SIP__ALLOWED_ADDRESSES": "127.0.0.1/32",
    }
    setup = subprocess.run(
        [str(BIN / "voice-agent"), "sip", "setup"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    yield servers
    servers.stop()


@dataclass
class Agent:
    """The worker's side as the test sees it: its stored calls and its events."""

    store: CallStore
    events: list[DomainEvent]
    ended: asyncio.Event
    changed: asyncio.Condition
    stop: asyncio.Event
    running: asyncio.Task[None]

    async def drain(self) -> None:
        """What SIGTERM does to `voice-agent worker`: drain, then end the calls left."""
        self.stop.set()
        await asyncio.wait_for(self.running, CALL_TIMEOUT_S)

    async def wait_for(self, kind: type[DomainEvent], count: int) -> None:
        """Until the worker has published `count` events of `kind`."""
        async with asyncio.timeout(CALL_TIMEOUT_S), self.changed:
            await self.changed.wait_for(
                lambda: sum(isinstance(event, kind) for event in self.events) >= count
            )

    async def the_call(self) -> Call:
        """The one call stored, once it has ended."""
        await asyncio.wait_for(self.ended.wait(), CALL_TIMEOUT_S)
        [summary] = (await self.store.repository.list()).calls
        call = await self.store.repository.get(summary.id)
        assert call is not None
        return call


@contextlib.asynccontextmanager
async def agent(
    servers: LiveKitServers,
    transcripts: Sequence[str],
    replies: Sequence[ScriptedReply],
    *,
    transfer_to: str | None = None,
    **settings: object,
) -> AsyncIterator[Agent]:
    """`run_worker` registered as AGENT_NAME, answering with the scripted fakes: the caller's
    utterances are recognized as `transcripts`, the model answers `replies`; `settings`
    replace the worker's, `transfer_to` is where the model's transfers go."""
    container = Container()
    base: Settings = worker_settings(servers, AGENT_NAME)
    engine = base.engine.model_copy(update={"transfer_destination": transfer_to})
    container.settings.override(
        providers.Object(base.model_copy(update={**settings, "engine": engine}))
    )
    container.call_store.override(providers.Resource(memory_store))
    speech = CallSpeech(
        ScriptedSpeechToText(transcripts),
        ScriptedLanguageModel(replies),
        FakeTextToSpeech(),
    )
    container.stack.override(providers.Object(scripted_stack(container.session_config(), speech)))
    store: CallStore = await resolved(container.call_store())
    events: list[DomainEvent] = []
    ended, changed = asyncio.Event(), asyncio.Condition()

    def on_event(event: DomainEvent) -> None:
        events.append(event)
        if isinstance(event, CallEnded):
            ended.set()
        asyncio.get_running_loop().create_task(notify(changed))

    stop, ready = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(run_worker(container, stop, [on_event], ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), CALL_TIMEOUT_S)
        yield Agent(store, events, ended, changed, stop, worker)
    finally:
        stop.set()
        await asyncio.wait_for(worker, CALL_TIMEOUT_S)


async def notify(condition: asyncio.Condition) -> None:
    async with condition:
        condition.notify_all()


@contextlib.asynccontextmanager
async def phone(tmp_path: Path, **options: object) -> AsyncIterator[BaresipPhone]:
    caller = BaresipPhone(tmp_path / "phone", **options)  # type: ignore[arg-type]
    await caller.start()
    try:
        yield caller
    finally:
        await caller.stop()


# -- what the caller hears ------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """The caller's recording on the test's clock: sample 0 arrived when RTP was established."""

    phone: BaresipPhone
    rtp_started: PhoneEvent

    def at(self, moment: float) -> float:
        """`moment` (time.monotonic) as a position in the caller's recording (s)."""
        return moment - self.rtp_started.at

    async def hears_voice_after(self, position_s: float, seconds: float = 0.3) -> float:
        """Waits until the caller has heard `seconds` of the agent's voice after `position_s`
        in the recording; returns where that voice began."""

        def voiced(heard: npt.NDArray[np.int16]) -> bool:
            return len([w for w in loud_windows(heard) if w >= position_s]) * 0.02 >= seconds

        heard = await self.phone.wait_heard(voiced, CALL_TIMEOUT_S)
        return next(w for w in loud_windows(heard) if w >= position_s)

    async def falls_quiet_after(self, position_s: float, quiet_s: float = 0.6) -> float:
        """Waits until the agent has been quiet for `quiet_s` after speaking past `position_s`;
        returns where its voice ended."""

        def ended(heard: npt.NDArray[np.int16]) -> bool:
            loud = [w for w in loud_windows(heard) if w >= position_s]
            return bool(loud) and len(heard) / PHONE_RATE - (loud[-1] + 0.02) >= quiet_s

        heard = await self.phone.wait_heard(ended, CALL_TIMEOUT_S)
        return [w for w in loud_windows(heard) if w >= position_s][-1] + 0.02


async def answered_line(caller: BaresipPhone, servers: LiveKitServers) -> Line:
    await caller.dial(servers.sip_uri(NUMBER))
    await caller.wait_for("CALL_ESTABLISHED", CALL_TIMEOUT_S)
    return Line(caller, await caller.wait_for("CALL_RTPESTAB", CALL_TIMEOUT_S))


def said(tmp_path: Path, name: str, seconds: float) -> Path:
    return utterance(tmp_path / f"{name}.wav", seconds)


# -- the tests ---------------------------------------------------------------------------
async def test_a_phone_call_is_answered_heard_interrupted_given_digits_hung_up_and_stored(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    transcripts = ["I would like a table for two tonight", "Seven please"]
    replies = [ScriptedReply(LONG_REPLY), ScriptedReply("Seven it is. See you tonight.")]
    async with agent(sip_servers, transcripts, replies) as worker, phone(tmp_path) as caller:
        dialled = time.monotonic()
        line = await answered_line(caller, sip_servers)
        # The greeting: heard from the start of the line, then the agent waits.
        greeting_start = await line.hears_voice_after(0.0, seconds=1.0)
        greeting_end = await line.falls_quiet_after(greeting_start)
        first_sound_after_dial_s = line.rtp_started.at + greeting_start - dialled

        await caller.say(said(tmp_path, "question", 1.2))
        asked = line.at(time.monotonic())
        reply_start = await line.hears_voice_after(asked + 1.2, seconds=1.0)

        # The caller talks over the long reply: the agent stops talking.
        await caller.say(said(tmp_path, "barge-in", 0.8))
        barged = line.at(time.monotonic())
        reply_end = await line.falls_quiet_after(reply_start, quiet_s=0.15)
        answer_start = await line.hears_voice_after(barged + 0.8, seconds=0.5)

        await caller.press("42#")
        await worker.wait_for(DtmfReceived, 3)
        await caller.hang_up()
        call = await worker.the_call()
        events = await worker.store.repository.events(call.id)

    assert greeting_end - greeting_start > 2.0, "the greeting was cut short"
    assert first_sound_after_dial_s < 3.0
    assert 0.0 < reply_end - barged < 1.0, "the agent went on talking over the caller"
    assert answer_start > barged + 0.8, "the answer began before the caller had finished"

    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP)
    assert call.caller_number == caller.number
    assert call.answer is not None
    said_by = [(turn.role, turn.text) for turn in call.turns]
    assert said_by == [
        (Role.AGENT, Settings().greeting),
        (Role.CALLER, transcripts[0]),
        (Role.AGENT, LONG_REPLY),
        (Role.CALLER, transcripts[1]),
        (Role.AGENT, replies[1].text),
    ]
    interrupted = call.turns[2]
    assert interrupted.interrupted
    assert interrupted.heard_text
    assert LONG_REPLY.startswith(interrupted.heard_text)
    assert len(interrupted.heard_text) < len(LONG_REPLY)
    digits = [event.digit for event in events if isinstance(event, DtmfReceived)]
    assert digits == ["4", "2", "#"]


@contextlib.asynccontextmanager
async def front_desk(tmp_path: Path) -> AsyncIterator[BaresipPhone]:
    """A second phone, where the agent transfers callers: it takes calls on its own port."""
    async with phone(tmp_path / "desk", number="desk", listen_port=free_udp_and_tcp_port()) as desk:
        yield desk


async def asks_for_a_person(line: Line, caller: BaresipPhone, tmp_path: Path) -> None:
    """The caller waits for the greeting to end, then asks (the model transfers)."""
    greeting = await line.hears_voice_after(0.0, seconds=1.0)
    await line.falls_quiet_after(greeting)
    await caller.say(said(tmp_path, "ask", 1.0))


TRANSFER = ScriptedReply("Let me put you through.", (ScriptedToolCall("transfer_call"),))


async def test_a_transfer_hands_the_caller_to_the_desk_by_sip_refer(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    async with (
        front_desk(tmp_path) as desk,
        agent(sip_servers, ["Can I talk to a person"], [TRANSFER], transfer_to=desk.uri) as worker,
        phone(tmp_path) as caller,
    ):
        line = await answered_line(caller, sip_servers)
        await asks_for_a_person(line, caller, tmp_path)
        await desk.wait_for("CALL_INCOMING", CALL_TIMEOUT_S)
        await desk.accept()
        call = await worker.the_call()
        # The caller's phone was told to call the desk and did: the two talk directly.
        referred = await caller.wait_for("TRANSFER", CALL_TIMEOUT_S)
        await desk.wait_for("CALL_RTPESTAB", CALL_TIMEOUT_S)
        await caller.say(said(tmp_path, "hello-desk", 1.0))
        await desk.wait_heard(lambda heard: len(loud_windows(heard)) >= 25, CALL_TIMEOUT_S)

    assert desk.uri in referred.text
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.TRANSFERRED)
    assert [turn.text for turn in call.turns][-1] == TRANSFER.text


async def test_a_busy_desk_is_told_to_the_caller_who_stays_with_the_agent(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    async with (
        front_desk(tmp_path) as desk,
        agent(sip_servers, ["Can I talk to a person"], [TRANSFER], transfer_to=desk.uri) as worker,
        phone(tmp_path) as caller,
    ):
        line = await answered_line(caller, sip_servers)
        await asks_for_a_person(line, caller, tmp_path)
        await desk.wait_for("CALL_INCOMING", CALL_TIMEOUT_S)
        turned_down = line.at(time.monotonic())
        await desk.hang_up()  # 486 Busy Here
        await line.hears_voice_after(turned_down, seconds=1.5)
        await caller.hang_up()
        call = await worker.the_call()
        events = await worker.store.repository.events(call.id)

    busy_line = SessionConfig().prompts.transfer_busy
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP)
    assert [turn.text for turn in call.turns][-2:] == [TRANSFER.text, busy_line]
    [failure] = [event for event in events if isinstance(event, ProviderFailed)]
    assert (failure.stage, failure.outcome) == ("transfer", "busy")


async def test_a_worker_told_to_stop_says_goodbye_and_hangs_up_a_live_phone_call(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    async with (
        agent(sip_servers, [], [], worker_drain_timeout_s=1.0) as worker,
        phone(tmp_path) as caller,
    ):
        line = await answered_line(caller, sip_servers)
        greeting = await line.hears_voice_after(0.0, seconds=1.0)
        greeting_end = await line.falls_quiet_after(greeting)
        await worker.drain()
        closed = await caller.wait_for("CALL_CLOSED", CALL_TIMEOUT_S)
        goodbye = await line.hears_voice_after(greeting_end, seconds=0.5)
        call = await worker.the_call()

    assert goodbye < line.at(closed.at), "the phone was hung up before the goodbye"
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.SERVER_SHUTDOWN)
    last = call.turns[-1]
    assert (last.text, last.interrupted) == (SessionConfig().prompts.shutdown_goodbye, False)


async def test_the_agent_ending_the_call_hangs_up_the_phone_after_its_last_words(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    farewell = ScriptedReply("You're welcome. Goodbye!", (ScriptedToolCall("end_call"),))
    async with (
        agent(sip_servers, ["That's all, thanks"], [farewell]) as worker,
        phone(tmp_path) as caller,
    ):
        line = await answered_line(caller, sip_servers)
        greeting = await line.hears_voice_after(0.0, seconds=1.0)
        greeting_end = await line.falls_quiet_after(greeting)
        await caller.say(said(tmp_path, "thanks", 1.0))
        closed = await caller.wait_for("CALL_CLOSED", CALL_TIMEOUT_S)
        call = await worker.the_call()
        heard = caller.heard()

    last_words = [w for w in loud_windows(heard) if w > greeting_end]
    assert len(last_words) * 0.02 >= 1.0, "the caller did not hear the last words"
    assert last_words[-1] < line.at(closed.at)
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.AGENT_ENDED)
    assert call.turns[-1].text == farewell.text
    assert not call.turns[-1].interrupted
