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
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from bench.livekit_caller import join_token
from bench.sip_calls import AT_CONNECT_WORDS, spoken_on_the_line
from bench.sip_phone import PHONE_RATE, BaresipPhone, PhoneEvent, loud_windows, utterance
from dependency_injector import providers
from livekit import api

from tests.agent_server import BIN
from tests.e2e.test_livekit_worker import worker_settings
from tests.livekit_servers import LiveKitServers, LiveKitUnavailable
from voice_agent.adapters.fakes.llm import ScriptedLanguageModel, ScriptedReply, ScriptedToolCall
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.adapters.fakes.tts import FakeTextToSpeech
from voice_agent.adapters.livekit import LiveKitCallTransport
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.call import Call, CallStatus, EndReason
from voice_agent.domain.events import (
    CallEnded,
    CallerInterrupted,
    DomainEvent,
    DtmfReceived,
    ProviderFailed,
    StateChanged,
)
from voice_agent.domain.turn import Role
from voice_agent.entrypoints.bootstrap.container import (
    CallStore,
    Container,
    memory_store,
    resolved,
)
from voice_agent.entrypoints.bootstrap.fake_stack import scripted_stack
from voice_agent.entrypoints.bootstrap.settings import Settings, StackName
from voice_agent.entrypoints.bootstrap.stacks import CallSpeech
from voice_agent.entrypoints.worker.main import run_worker

pytestmark = pytest.mark.slow

NUMBER = "+74951234567"
"""The agent's number on the trunk (a Moscow number, as Novofon gives)."""
SIGNED_NUMBER = "+74951234568"
CARRIER = ("novofon", "carrier-secret-7f3a")
"""The digest credentials of the trunk for SIGNED_NUMBER."""
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
        **servers_environment(servers),
        "SIP__INBOUND_NUMBERS": NUMBER,
        "SIP__ALLOWED_ADDRESSES": "127.0.0.1/32",
    }
    sip_setup(environment)
    # A second number, whose carrier must sign its INVITEs (digest), as Novofon can.
    sip_setup(
        {
            **environment,
            "SIP__INBOUND_NUMBERS": SIGNED_NUMBER,
            "SIP__AUTH_USERNAME": CARRIER[0],
            "SIP__AUTH_PASSWORD": CARRIER[1],
            "SIP__TRUNK_NAME": "signed-inbound",
            "SIP__DISPATCH_RULE_NAME": "signed-dispatch",
        }
    )
    yield servers
    servers.stop()


def servers_environment(servers: LiveKitServers) -> dict[str, str]:
    """What `voice-agent` commands need to reach `servers` as our agent."""
    return {
        **os.environ,
        "LIVEKIT_URL": servers.ws_url,
        "LIVEKIT_API_KEY": servers.api_key,
        "LIVEKIT_API_SECRET": servers.api_secret,
        "LIVEKIT_AGENT_NAME": AGENT_NAME,
    }


def sip_setup(environment: dict[str, str]) -> None:
    setup = subprocess.run(
        [str(BIN / "voice-agent"), "sip", "setup"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr


@dataclass
class Agent:
    """The worker's side as the test sees it: its stored calls and its events."""

    store: CallStore
    events: list[DomainEvent]
    ended: asyncio.Event
    changed: asyncio.Event
    """Set on every event the worker publishes."""
    stop: asyncio.Event
    running: asyncio.Task[None]

    def story(self) -> str:
        """What happened in the call, for a failure's message."""
        return "\n".join(
            repr(event) for event in self.events if not isinstance(event, StateChanged)
        )

    async def drain(self) -> None:
        """What SIGTERM does to `voice-agent worker`: drain, then end the calls left."""
        self.stop.set()
        await asyncio.wait_for(self.running, CALL_TIMEOUT_S)

    async def wait_for(self, kind: type[DomainEvent], count: int) -> None:
        """Until the worker has published `count` events of `kind`."""
        async with asyncio.timeout(CALL_TIMEOUT_S):
            while sum(isinstance(event, kind) for event in self.events) < count:
                self.changed.clear()
                await self.changed.wait()

    async def the_call(self) -> Call:
        """The one call stored, once it has ended."""
        try:
            await asyncio.wait_for(self.ended.wait(), CALL_TIMEOUT_S)
        except TimeoutError:
            message = f"the call went on past {CALL_TIMEOUT_S:.0f} s:\n{self.story()}"
            raise AssertionError(message) from None
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
    replace the worker's, `transfer_to` is where the model's transfers go.

    A request beyond the script (a reply started early and dropped, when a slow host splits
    an utterance) gets the last reply again, and the silence prompts wait 30 s: neither is
    what these tests are about."""
    container = Container()
    base: Settings = worker_settings(servers, AGENT_NAME)
    engine = base.engine.model_copy(
        update={"transfer_destination": transfer_to, "silence_timeout_s": 30.0}
    )
    container.settings.override(
        providers.Object(base.model_copy(update={**settings, "engine": engine}))
    )
    container.call_store.override(providers.Resource(memory_store))
    speech = CallSpeech(
        ScriptedSpeechToText(transcripts),
        ScriptedLanguageModel(replies, default=replies[-1] if replies else None),
        FakeTextToSpeech(),
    )
    container.stack.override(providers.Object(scripted_stack(container.session_config(), speech)))
    async with running(container) as worker:
        yield worker


@contextlib.asynccontextmanager
async def running(container: Container) -> AsyncIterator[Agent]:
    """`run_worker` on `container`, registered; drained when the block ends."""
    store: CallStore = await resolved(container.call_store())
    events: list[DomainEvent] = []
    ended, changed = asyncio.Event(), asyncio.Event()

    def on_event(event: DomainEvent) -> None:
        events.append(event)
        if isinstance(event, CallEnded):
            ended.set()
        changed.set()

    stop, ready = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(run_worker(container, stop, [on_event], ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), CALL_TIMEOUT_S)
        yield Agent(store, events, ended, changed, stop, worker)
    finally:
        stop.set()
        await asyncio.wait_for(worker, CALL_TIMEOUT_S)


@contextlib.asynccontextmanager
async def local_agent(servers: LiveKitServers) -> AsyncIterator[Agent]:
    """`run_worker` on the embedded local stack (Whisper tiny.en, SmolLM2, Piper, Silero):
    what `make run`'s worker answers phone calls with when no keys are set."""
    container = Container()
    base: Settings = worker_settings(servers, AGENT_NAME)
    container.settings.override(
        providers.Object(base.model_copy(update={"stack": StackName.LOCAL}))
    )
    container.call_store.override(providers.Resource(memory_store))
    async with running(container) as worker:
        yield worker


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

        try:
            heard = await self.phone.wait_heard(voiced, CALL_TIMEOUT_S)
        except TimeoutError:
            what = f"{seconds} s of voice after {position_s:.2f} s"
            raise AssertionError(self._missed(what)) from None
        return next(w for w in loud_windows(heard) if w >= position_s)

    def _missed(self, what: str) -> str:
        heard = self.phone.heard()
        loud = loud_windows(heard)
        return (
            f"the caller did not hear {what}: {len(heard) / PHONE_RATE:.2f} s heard, "
            f"voice in {len(loud)} windows of 20 ms, the last at {loud[-1] if loud else None}"
        )

    async def falls_quiet_after(self, position_s: float, quiet_s: float = 0.6) -> float:
        """Waits until the agent has been quiet for `quiet_s` after speaking past `position_s`;
        returns where its voice ended."""

        def ended(heard: npt.NDArray[np.int16]) -> bool:
            loud = [w for w in loud_windows(heard) if w >= position_s]
            return bool(loud) and len(heard) / PHONE_RATE - (loud[-1] + 0.02) >= quiet_s

        try:
            heard = await self.phone.wait_heard(ended, CALL_TIMEOUT_S)
        except TimeoutError:
            what = f"{quiet_s} s of quiet after {position_s:.2f} s"
            raise AssertionError(self._missed(what)) from None
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
    # About 0.6 s on a quiet host (the caller's voice detected and confirmed, the clear heard
    # back over RTP); a reply left running would go on for 8 s.
    assert 0.0 < reply_end - barged < 2.0, "the agent went on talking over the caller"
    assert answer_start > barged + 0.8, "the answer began before the caller had finished"

    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP), (
        worker.story()
    )
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
    async with phone(tmp_path / "desk", number="desk") as desk:
        yield desk


async def asks_for_a_person(line: Line, caller: BaresipPhone, tmp_path: Path) -> None:
    """The caller waits for the greeting to end, then asks (the model transfers)."""
    greeting = await line.hears_voice_after(0.0, seconds=1.0)
    await line.falls_quiet_after(greeting)
    await caller.say(said(tmp_path, "ask", 1.0))


TRANSFER = ScriptedReply("Let me put you through.", (ScriptedToolCall("transfer_call"),))


@dataclass(frozen=True)
class Transfer:
    desk: BaresipPhone
    worker: Agent
    caller: BaresipPhone
    line: Line


@contextlib.asynccontextmanager
async def transfer_ringing(servers: LiveKitServers, tmp_path: Path) -> AsyncIterator[Transfer]:
    """A caller asked for a person, the model transferred the call, the desk is ringing."""
    async with (
        front_desk(tmp_path) as desk,
        agent(servers, ["Can I talk to a person"], [TRANSFER], transfer_to=desk.uri) as worker,
        phone(tmp_path) as caller,
    ):
        line = await answered_line(caller, servers)
        await asks_for_a_person(line, caller, tmp_path)
        await desk.wait_for("CALL_INCOMING", CALL_TIMEOUT_S)
        yield Transfer(desk, worker, caller, line)


REFER_LOST = "transaction failed to complete (0 intermediate responses)"
"""What livekit-sip v1.10.0 logs when it loses baresip's answer to its REFER: baresip sends its
first NOTIFY (100 Trying) as it accepts the REFER, and now and then (about 1 call in 6 here)
the SIP service's REFER transaction ends at that moment without a response. The phone carries
out the transfer all the same, but the agent is told it failed. A race between the two
programs, not in our code: the transfer tests accept that outcome only when the service logged
it for their call."""


def refer_lost(servers: LiveKitServers, log_from: int) -> bool:
    return REFER_LOST in servers.server_log("livekit-sip")[log_from:]


def transfer_failure(events: Sequence[DomainEvent]) -> str | None:
    failures = [e for e in events if isinstance(e, ProviderFailed) and e.stage == "transfer"]
    return failures[0].outcome if failures else None


async def test_a_transfer_hands_the_caller_to_the_desk_by_sip_refer(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    log_from = len(sip_servers.server_log("livekit-sip"))
    async with transfer_ringing(sip_servers, tmp_path) as transfer:
        desk, worker, caller = transfer.desk, transfer.worker, transfer.caller
        await desk.accept()
        # The caller's phone was told to call the desk and did: the two talk directly.
        referred = await caller.wait_for("TRANSFER", CALL_TIMEOUT_S)
        await desk.wait_for("CALL_RTPESTAB", CALL_TIMEOUT_S)
        await caller.say(said(tmp_path, "hello-desk", 1.0))
        await desk.wait_heard(lambda heard: len(loud_windows(heard)) >= 25, CALL_TIMEOUT_S)
        await worker.drain()  # ends the agent's leg if the service lost the REFER's answer
        call = await worker.the_call()
        events = await worker.store.repository.events(call.id)

    assert desk.uri in referred.text
    assert call.turns[2].text == TRANSFER.text
    if refer_lost(sip_servers, log_from):
        assert transfer_failure(events) == "failed", worker.story()
    else:
        assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.TRANSFERRED), (
            worker.story()
        )
        assert transfer_failure(events) is None


async def test_a_busy_desk_is_told_to_the_caller_who_stays_with_the_agent(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    log_from = len(sip_servers.server_log("livekit-sip"))
    async with transfer_ringing(sip_servers, tmp_path) as transfer:
        desk, worker, caller, line = transfer.desk, transfer.worker, transfer.caller, transfer.line
        turned_down = line.at(time.monotonic())
        await desk.hang_up()  # 486 Busy Here
        await line.hears_voice_after(turned_down, seconds=1.5)
        await caller.hang_up()
        call = await worker.the_call()
        events = await worker.store.repository.events(call.id)

    prompts = SessionConfig().prompts
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP), (
        worker.story()
    )
    busy, lost = ("busy", prompts.transfer_busy), ("failed", prompts.transfer_failed)
    expected = lost if refer_lost(sip_servers, log_from) else busy
    assert (transfer_failure(events), call.turns[3].text) == expected, worker.story()


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
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.SERVER_SHUTDOWN), (
        worker.story()
    )
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
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.AGENT_ENDED), (
        worker.story()
    )
    assert call.turns[-1].text == farewell.text
    assert not call.turns[-1].interrupted


async def test_on_the_local_stack_the_callers_words_cross_the_phone_line_and_are_answered(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    """Real speech (espeak-ng), G.711 at 8 kHz both ways, Whisper, SmolLM2 and Piper."""
    words = spoken_on_the_line(tmp_path, AT_CONNECT_WORDS)
    async with local_agent(sip_servers) as worker, phone(tmp_path) as caller:
        line = await answered_line(caller, sip_servers)
        greeting = await line.hears_voice_after(0.0, seconds=1.0)
        greeting_end = await line.falls_quiet_after(greeting)
        await caller.say(words)
        await line.hears_voice_after(greeting_end + 1.0, seconds=1.0)  # the answer
        await caller.hang_up()
        call = await worker.the_call()

    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP), (
        worker.story()
    )
    asked = next(turn for turn in call.turns if turn.role is Role.CALLER)
    assert {"appointment", "tomorrow"} <= set(re.findall(r"[a-z]+", asked.text.lower()))
    answer = call.turns[call.turns.index(asked) + 1]
    assert answer.role is Role.AGENT
    assert answer.heard_text


async def test_on_the_local_stack_words_said_as_the_call_connects_stop_the_greeting(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    """The caller talks as soon as the phone is answered, over the greeting: the agent stops
    on the caller's first words, not after the 2 s rule for voice without words, and the
    recognizer gets the sentence.

    Only the rest of the sentence is checked: in about 1 run in 40 on a host saturated by
    two busy loops, Whisper tiny.en leaves out the first word, "Hello", of the whole
    utterance although its audio reached the recognizer (the utterance then also came out
    0.4 s longer and the voice detector saw a pause inside the word: the audio arrived
    stretched). Found and measured in the notes of issue 11."""
    words = spoken_on_the_line(tmp_path, AT_CONNECT_WORDS)
    async with local_agent(sip_servers) as worker, phone(tmp_path) as caller:
        await caller.dial(sip_servers.sip_uri(NUMBER))
        await caller.wait_for("CALL_ESTABLISHED", CALL_TIMEOUT_S)
        await caller.say(words)
        line = Line(caller, await caller.wait_for("CALL_RTPESTAB", CALL_TIMEOUT_S))
        await line.hears_voice_after(5.0, seconds=1.0)  # the answer, after the words
        await caller.hang_up()
        call = await worker.the_call()

    greeting, asked = call.turns[:2]
    assert greeting.interrupted
    [interrupted] = [e for e in worker.events if isinstance(e, CallerInterrupted)]
    # The words start about 0.15 s into the greeting; "Hello," is confirmed by Whisper at
    # the pause after it (0.8-1.0 s measured), the rule for voice without words at 2.15 s.
    assert interrupted.heard_seconds < 1.7, worker.story()
    assert asked.role is Role.CALLER
    heard = set(re.findall(r"[a-z]+", asked.text.lower()))
    assert {"appointment", "tomorrow", "morning"} <= heard, worker.story()


@pytest.mark.parametrize("password", [CARRIER[1], "wrong-password"])
async def test_a_trunk_with_digest_credentials_answers_only_a_carrier_that_has_them(
    sip_servers: LiveKitServers, tmp_path: Path, password: str
) -> None:
    right = password == CARRIER[1]
    async with (
        agent(sip_servers, [], []) as worker,
        phone(tmp_path, credentials=(CARRIER[0], password)) as caller,
    ):
        await caller.dial(sip_servers.sip_uri(SIGNED_NUMBER))
        first = await caller.wait_for(
            "CALL_ESTABLISHED" if right else "CALL_CLOSED", CALL_TIMEOUT_S
        )
        if right:
            await caller.hang_up()
            call = await worker.the_call()
            assert call.end_reason is EndReason.CALLER_HUNG_UP
        stored = (await worker.store.repository.list()).calls

    assert len(stored) == (1 if right else 0)
    if not right:
        assert "40" in first.text, first.text  # 401 or 403: refused, never answered
        assert not any(event.kind == "CALL_ESTABLISHED" for event in caller.events)


async def test_voice_agent_dial_calls_a_phone_which_hears_the_agent_once_it_answers(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    """Outbound: `voice-agent dial` has the SIP service INVITE a phone through an outbound
    trunk (the carrier here is the phone itself), with our agent dispatched to the room."""
    callee_number = "+79160000000"
    async with phone(tmp_path / "callee", number=callee_number) as callee:
        trunk = await outbound_trunk(sip_servers, f"127.0.0.1:{callee.listen_port}")
        async with agent(sip_servers, [], []) as worker:
            dial = await asyncio.create_subprocess_exec(
                BIN / "voice-agent",
                "dial",
                callee_number,
                env={**servers_environment(sip_servers), "SIP__OUTBOUND_TRUNK_ID": trunk},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            await callee.wait_for("CALL_INCOMING", CALL_TIMEOUT_S)
            await callee.accept()
            line = Line(callee, await callee.wait_for("CALL_RTPESTAB", CALL_TIMEOUT_S))
            output, _ = await asyncio.wait_for(dial.communicate(), CALL_TIMEOUT_S)
            await line.hears_voice_after(0.0, seconds=1.0)  # the greeting
            await callee.hang_up()
            call = await worker.the_call()

    assert dial.returncode == 0, output.decode()
    assert "answered" in output.decode()
    assert callee_number not in output.decode(), "the number is masked in what dial prints"
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP), (
        worker.story()
    )
    assert call.turns[0].text == Settings().greeting


async def outbound_trunk(servers: LiveKitServers, address: str) -> str:
    """An outbound trunk sending our calls to `address`; its id."""
    async with contextlib.AsyncExitStack() as stack:
        client = api.LiveKitAPI(servers.url, servers.api_key, servers.api_secret)
        stack.push_async_callback(client.aclose)
        trunk = await client.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(
                trunk=api.SIPOutboundTrunkInfo(name="carrier", address=address, numbers=[NUMBER])
            )
        )
    trunk_id: str = trunk.sip_trunk_id
    return trunk_id


async def test_keys_the_agent_presses_reach_the_phone_as_dtmf(
    sip_servers: LiveKitServers, tmp_path: Path
) -> None:
    """`LiveKitCallTransport.send_dtmf` (RFC 4733 through the room and the SIP service), with
    the test as the agent: it joins the room the call rang into."""
    async with phone(tmp_path) as caller:
        await caller.dial(sip_servers.sip_uri(NUMBER))
        room = await ringing_room(sip_servers)
        transport = LiveKitCallTransport(
            sip_servers.ws_url, join_token(sip_servers, room, "agent"), answer_timeout_s=10
        )
        try:
            await transport.open()  # the agent's track: the SIP service answers
            await caller.wait_for("CALL_ESTABLISHED", CALL_TIMEOUT_S)
            await transport.send_dtmf("12#")
            pressed = await caller.wait_for_many("CALL_DTMF_START", 3, CALL_TIMEOUT_S)
        finally:
            await transport.close("completed")

    assert [event.text for event in pressed] == ["1", "2", "#"]


async def ringing_room(servers: LiveKitServers) -> str:
    """The room livekit-sip made for the call ringing (the only room with a SIP caller)."""
    client = api.LiveKitAPI(servers.url, servers.api_key, servers.api_secret)
    try:
        async with asyncio.timeout(CALL_TIMEOUT_S):
            while True:
                for room in (await client.room.list_rooms(api.ListRoomsRequest())).rooms:
                    people = await client.room.list_participants(
                        api.ListParticipantsRequest(room=room.name)
                    )
                    if any(p.kind == api.ParticipantInfo.Kind.SIP for p in people.participants):
                        return str(room.name)
                await asyncio.sleep(0.05)  # polling the server for the room, not timing
    finally:
        await client.aclose()
