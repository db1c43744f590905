"""The `sip` part of `python -m bench livekit`: real phone calls. baresip (`bench.sip_phone`,
G.711 at 8 kHz) dials `NUMBER` at the real LiveKit SIP service; the inbound trunk and the
individual dispatch rule made by the project's provisioning (`voice-agent sip setup`'s
`InboundSetup`) put each call in a new room with the agent dispatched to the worker of
`bench.livekit_calls` (in this process, on the scripted fakes), which greets the caller and
answers the `turns` part's scenario. One call after another, one phone process per call.

Every time is on the event loop's clock (baresip's events are stamped with time.monotonic,
moved onto it by the offset between the two, 0 where the loop is asyncio's own). Both of
the phone's dumps are put on that clock by how they grow: baresip writes each frame as it
comes (or goes), so a dump of n samples at time t shows that its frame 0 was written at or
before t - n / 8000 + 20 ms, if the frames came one every 20 ms since; sampled every
`GROWTH_POLL_S` (not a divisor of 20 ms, so the samples fall at every phase of the frames),
the least of these over `STRETCH_S` is when (`frame_zero`).

What the caller heard: `heard()` is the decoded audio from the first RTP packet on, which
the CALL_RTPESTAB event stamps as it arrives. Packet k did not come at RTPESTAB + k * 20 ms,
though: livekit-sip skips a beat now and then (on every call here, once, about 4.3 s after
its first packet: the dump falls 20 ms behind for good, with no packet lost by RTCP's
count), and from then on that sum is 20 ms early (`heard_slip`: how early it was for each
reply). What is exact is the phone's jitter buffer (`jitter_buffer_delay`, baresip's
default 5-10 packets): it lets a packet through when 5 more have come, one for each packet
that comes, so packet k came when frame k - 5 was written to the dump, found from the dump's
growth in the `STRETCH_S` after that frame (a beat skipped after it does not count). That
is the moment the packet reached the phone, before the phone's own jitter buffer (the web
phone's caller has none either).
The check is `phone_jitter_buffer`: when frame 0 was written minus RTPESTAB, 5 packets
(100 ms) if the event was stamped as the packet came and the buffer is as described.

Agent audio is loud as on the other lines (`LOUD_RMS` on the 16-bit scale, per 20 ms
packet): G.711 keeps a tone's level (its quantization noise is about 38 dB down), the
silence between replies decodes to about 0, and the fake voice (a 220 Hz tone, RMS about 4200) is
well inside the 8 kHz band.

When the caller's speech ended: `say()` switches baresip's source to a WAV that starts with
`SPEECH_S` of the tone the other lines' callers speak, then silence. baresip (poll mode)
puts each frame its source produces through the encode filters, where `spoke()` is dumped,
and sends it at once, so the dump grows as the packets leave. RTPESTAB does not time it (it
is the stream received) and the frames sent restart on a new beat at every switch of
source, so the spoken dump's frame 0 is found from its growth after each `say()`; the speech
ended when its last loud frame left: that frame 0 + the frame's index * 20 ms (within the
source thread's 0-4 ms lateness), what the web phone's caller notes (its last speech frame
handed to the line). It agreed with the moment `say()` was answered + the speech's length
less a frame within -1..+3 ms here: the new source starts at once.

The way in and the way out (`caller_speech_end_to_agent`, `agent_reply_to_caller`) are the
`turns` part's, from the worker's transport: the end of speech -> the engine received the
caller's last loud frame, and the engine handed the reply's first loud audio to the line ->
it reached the phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fake_servers.livekit_server import LiveKitServers

from bench.caller import FRAME_S, LOUD_RMS, QUIET_S, SPEECH_S, WAIT_S, Exchange
from bench.common import first_at_or_after, latency_summary, paired_extra
from bench.livekit_calls import (
    AGENT_NAME,
    SEQUENTIAL_SLOTS,
    TURNS,
    TimedTransport,
    bench_scenario,
    e2e_and_own_ms,
    inbound_ms,
    outbound_ms,
    running_worker,
    web_phone_turns,
)
from bench.sip_phone import PHONE_RATE, BaresipPhone, write_wav
from voice_agent.adapters.audio.wav import read_wav
from voice_agent.adapters.livekit import InboundSetup, LiveKitControl, LiveKitSettings
from voice_agent.domain.audio import AudioChunk

NUMBER = "+15550100"
FRAME = round(PHONE_RATE * FRAME_S)
"""Samples in a 20 ms frame at 8 kHz: one G.711 packet."""
SPEECH_TONE = 8000 * np.sin(2 * np.pi * 440 * np.arange(round(SPEECH_S * PHONE_RATE)) / PHONE_RATE)
"""What the caller says each turn: the tone of `bench.caller`'s microphone, as long."""
SPEECH_TAIL_S = 60.0
"""Silence after the speech in its WAV: baresip hangs up when its source runs out."""
GROWTH_POLL_S = 0.007
STRETCH_S = 0.5
"""How long after a frame was written the sizes of its dump are taken to place it: enough
samples to fall at every phase of the frames (a beat skipped later moves only later ones)."""
JITTER_BUFFER_PACKETS = 5
"""Packets baresip's jitter buffer holds back (its default `jitter_buffer_delay` 5-10)."""
SETTLE_S = 0.1
"""How long the spoken dump is still sampled after the speech has been sent."""
EVENT_S = 10.0
AT_CONNECT_CALL_S = 5.0
"""How long a call that talks at connect lasts: the sentence is 4 s."""


def loud_frames(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.intp]:
    """The indexes of the loud 20 ms frames of `samples`."""
    frames = samples[: len(samples) // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    return np.flatnonzero((frames * frames).mean(axis=1) > LOUD_RMS**2)


def frame_zero(sizes: Sequence[tuple[float, int]]) -> float:
    """When a dump's frame 0 was written, from (time, samples) of its size taken just after
    the frames it sizes were written, if the frames came one every 20 ms (inf: no sample)."""
    return min((at - samples / PHONE_RATE + FRAME_S for at, samples in sizes), default=math.inf)


@dataclass
class SipCaller:
    """The caller's side of one call: its phone, and what it heard, frame by frame."""

    phone: BaresipPhone
    rtp_at: float
    """When the first RTP packet came (CALL_RTPESTAB), on the loop's clock."""
    loud: list[int] = field(default_factory=list)
    """The indexes of the loud frames heard so far."""
    sizes: list[tuple[float, int]] = field(default_factory=list)
    """(loop time, samples) of the heard dump, every `GROWTH_POLL_S`, once it has begun."""
    _frames: int = 0
    _heard: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def follow(self) -> None:
        """Until cancelled: the heard dump's size and its loud frames."""
        loop = asyncio.get_running_loop()
        while True:
            heard = self.phone.heard()
            # The time is read after the file: a frame written meanwhile only makes it late.
            if heard.size:
                self.sizes.append((loop.time(), heard.size))
            frames = heard.size // FRAME
            if frames > self._frames:
                block = heard[self._frames * FRAME : frames * FRAME]
                self.loud += [int(k) + self._frames for k in loud_frames(block)]
                self._frames = frames
                async with self._heard:
                    self._heard.notify_all()
            await asyncio.sleep(GROWTH_POLL_S)  # polling a file baresip writes

    async def first_loud_after(self, moment: float) -> int:
        """The first loud frame that came after `moment` (by RTPESTAB + its offset, a skipped
        beat or two early: enough to tell the reply from the speech before it)."""
        first = math.ceil((moment - self.rtp_at) / FRAME_S)
        async with asyncio.timeout(WAIT_S), self._heard:
            await self._heard.wait_for(lambda: first_at_or_after(self.loud, first) is not None)
        found = first_at_or_after(self.loud, first)
        assert found is not None
        return int(found)

    async def quiet_for(self, seconds: float) -> None:
        """Until the agent, once heard, has been silent for `seconds` of what was heard."""
        async with asyncio.timeout(WAIT_S), self._heard:
            await self._heard.wait_for(
                lambda: bool(self.loud) and (self._frames - 1 - self.loud[-1]) * FRAME_S >= seconds
            )

    async def say(self, speech: Path) -> float:
        """Speak `speech`; returns when its last loud frame left the phone."""
        loop = asyncio.get_running_loop()
        await self.phone.say(speech)
        before = len(self.phone.spoke())  # the old source has stopped: its frames are in
        sizes: list[tuple[float, int]] = []
        until = loop.time() + SPEECH_S + SETTLE_S
        while loop.time() < until:
            spoke = len(self.phone.spoke())
            if spoke > before:  # a frame of the new source's: on its beat
                sizes.append((loop.time(), spoke))
            await asyncio.sleep(GROWTH_POLL_S)
        loud = loud_frames(self.phone.spoke())
        if not sizes or not loud.size or loud[-1] * FRAME < before:
            raise RuntimeError("the phone did not send the speech")
        return frame_zero(sizes) + int(loud[-1]) * FRAME_S

    def written_at(self, frame: int) -> float:
        """When frame `frame` of the heard dump was written (call ended)."""
        after = [s for s in self.sizes if s[1] > frame * FRAME]
        if not after:
            raise RuntimeError(f"the phone's dump never had frame {frame}")
        return frame_zero([s for s in after if s[0] <= after[0][0] + STRETCH_S]) + frame * FRAME_S

    def arrived_at(self, packet: int) -> float:
        """When packet `packet` reached the phone (call ended)."""
        if packet < JITTER_BUFFER_PACKETS:  # before the buffer let any through
            return self.rtp_at + packet * FRAME_S
        return self.written_at(packet - JITTER_BUFFER_PACKETS)

    def slip(self, packet: int) -> float:
        """How much later `packet` came than RTPESTAB + its offset."""
        return self.arrived_at(packet) - (self.rtp_at + packet * FRAME_S)


@dataclass
class SipCallTimes:
    invite_at: float
    ok_at: float
    first_audio_at: float
    exchanges: list[Exchange]
    jitter_buffer_ms: float
    slips_ms: list[float]


async def provision(servers: LiveKitServers) -> None:
    """The inbound trunk for `NUMBER` from loopback and the rule dispatching our agent."""
    control = LiveKitControl(
        LiveKitSettings(servers.url, servers.api_key, servers.api_secret, AGENT_NAME)
    )
    try:
        await control.setup(
            InboundSetup(
                numbers=(NUMBER,), agent_name=AGENT_NAME, allowed_addresses=("127.0.0.1/32",)
            )
        )
    finally:
        await control.aclose()


@contextlib.contextmanager
def log_shown_on_failure(phone: BaresipPhone) -> Iterator[None]:
    """A call that fails prints the end of the phone's log (then the error goes on)."""
    try:
        yield
    except Exception:
        print(f"a SIP call failed; the phone's log:\n{phone.log()[-4000:]}", file=sys.stderr)
        raise


async def call(servers: LiveKitServers, workdir: Path, speech: Path, turns: int) -> SipCallTimes:
    """One call: dial, hear the greeting, speak `turns` times, each once the agent is
    silent, then hang up."""
    loop = asyncio.get_running_loop()
    on_loop = loop.time() - time.monotonic()
    phone = BaresipPhone(workdir)
    await phone.start()
    following: asyncio.Task[None] | None = None
    try:
        with log_shown_on_failure(phone):
            await phone.dial(servers.sip_uri(NUMBER))
            ok = await phone.wait_for("CALL_ESTABLISHED", EVENT_S)
            rtp = await phone.wait_for("CALL_RTPESTAB", EVENT_S)
            caller = SipCaller(phone, rtp.at + on_loop)
            following = asyncio.create_task(caller.follow())
            invite_at = phone.dialed_at + on_loop
            greeting = await caller.first_loud_after(invite_at)
            turns_heard: list[tuple[float, int]] = []
            for _ in range(turns):
                await caller.quiet_for(QUIET_S)
                ended_at = await caller.say(speech)
                turns_heard.append((ended_at, await caller.first_loud_after(ended_at)))
            await caller.quiet_for(QUIET_S)
            await phone.hang_up()
            await phone.wait_for("CALL_CLOSED", EVENT_S)
    finally:
        if following is not None:
            following.cancel()
        await phone.stop()
    return SipCallTimes(
        invite_at=invite_at,
        ok_at=ok.at + on_loop,
        first_audio_at=caller.arrived_at(greeting),
        exchanges=[Exchange(ended, caller.arrived_at(reply)) for ended, reply in turns_heard],
        jitter_buffer_ms=(caller.written_at(0) - caller.rtp_at) * 1000,
        slips_ms=[caller.slip(reply) * 1000 for _, reply in turns_heard],
    )


def ms(pairs: Sequence[tuple[float | None, float | None]]) -> dict[str, float]:
    """The summary of the (start, end) pairs where both are known, in ms."""
    return latency_summary([(b - a) * 1000 for a, b in pairs if a is not None and b is not None])


async def sip_calls(servers: LiveKitServers, calls: int) -> dict[str, Any]:
    scenario = bench_scenario()
    await provision(servers)
    done: list[tuple[SipCallTimes, TimedTransport]] = []
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as tmp:
        silence = np.zeros(round(SPEECH_TAIL_S * PHONE_RATE))
        speech = write_wav(
            Path(tmp) / "speech.wav", np.concatenate([SPEECH_TONE, silence]).astype(np.int16)
        )
        async with running_worker(servers, scenario, max_calls=SEQUENTIAL_SLOTS) as worker:
            for n in range(calls):
                times = await call(servers, Path(tmp) / f"call-{n}", speech, TURNS)
                await worker.wait_ended(n + 1)
                done.append((times, _transport(n)))
            sip_e2e, _ = e2e_and_own_ms(await worker.stored_latencies())
            answers = [c.answer for c in await worker.stored_calls() if c.answer]
    web_phone_ms = await web_phone_turns(scenario, calls)
    caller_ms = [e.voice_to_voice_ms for times, _ in done for e in times.exchanges]
    return {
        "calls": calls,
        "turns_per_call": TURNS,
        "invite_to_200_ok": ms([(t.invite_at, t.ok_at) for t, _ in done]),
        "invite_to_first_audio": ms([(t.invite_at, t.first_audio_at) for t, _ in done]),
        "invite_to_dispatch": ms([(t.invite_at, tr.job_received_at) for t, tr in done]),
        "dispatch_to_published": ms([(tr.job_received_at, _published(tr)) for _, tr in done]),
        "dispatch_to_200_ok": ms([(tr.job_received_at, t.ok_at) for t, tr in done]),
        "200_ok_to_first_audio": ms([(t.ok_at, t.first_audio_at) for t, _ in done]),
        "stored_job_to_joined": latency_summary([a.joined_ms for a in answers]),
        "stored_job_to_first_audio": latency_summary(
            [a.first_audio_ms for a in answers if a.first_audio_ms is not None]
        ),
        "caller_voice_to_voice_sip": latency_summary(caller_ms),
        "caller_voice_to_voice_web_phone": latency_summary(web_phone_ms),
        "sip_extra_over_web_phone": paired_extra(web_phone_ms, caller_ms),
        "engine_voice_to_voice_sip": latency_summary(sip_e2e),
        "caller_side_extra_over_engine": paired_extra(sip_e2e, caller_ms),
        "caller_speech_end_to_agent": latency_summary(
            [v for t, tr in done for v in inbound_ms(t.exchanges, tr.heard_loud)]
        ),
        "agent_reply_to_caller": latency_summary(
            [v for t, tr in done for v in outbound_ms(t.exchanges, tr.played_loud)]
        ),
        "phone_jitter_buffer": latency_summary([t.jitter_buffer_ms for t, _ in done]),
        "heard_slip": latency_summary([v for t, _ in done for v in t.slips_ms]),
    }


async def sip_answers(servers: LiveKitServers, calls: int) -> dict[str, Any]:
    """`sip-local`: calls answered by the worker on the embedded local stack (its greeting
    rendered at start-up); the caller hangs up once the greeting has finished. Then `calls`
    calls where the phone talks over the greeting from the moment it is answered."""
    await provision(servers)
    done: list[tuple[SipCallTimes, TimedTransport]] = []
    with tempfile.TemporaryDirectory(prefix="bench-sip-local-") as tmp:
        quiet = write_wav(Path(tmp) / "quiet.wav", np.zeros(PHONE_RATE, np.int16))
        sentence = spoken_on_the_line(Path(tmp), AT_CONNECT_WORDS)
        async with running_worker(servers, None, max_calls=SEQUENTIAL_SLOTS) as worker:
            for n in range(calls):
                times = await call(servers, Path(tmp) / f"call-{n}", quiet, turns=0)
                await worker.wait_ended(n + 1)
                done.append((times, _transport(n)))
            answers = [c.answer for c in await worker.stored_calls() if c.answer]
            for n in range(calls):
                await talk_at_connect(servers, Path(tmp) / f"talk-{n}", sentence)
                await worker.wait_interrupted(n + 1)
                await worker.wait_ended(calls + n + 1)
            heard_s = worker.interrupted_after_s
    return {
        "greeting_heard_when_talked_over_at_connect": latency_summary([s * 1000 for s in heard_s]),
        "calls": calls,
        "invite_to_200_ok": ms([(t.invite_at, t.ok_at) for t, _ in done]),
        "invite_to_first_audio": ms([(t.invite_at, t.first_audio_at) for t, _ in done]),
        "dispatch_to_published": ms([(tr.job_received_at, _published(tr)) for _, tr in done]),
        "200_ok_to_first_audio": ms([(t.ok_at, t.first_audio_at) for t, _ in done]),
        "stored_job_to_first_audio": latency_summary(
            [a.first_audio_ms for a in answers if a.first_audio_ms is not None]
        ),
    }


AT_CONNECT_WORDS = "Hello, I would like to make an appointment for tomorrow morning."
"""A sentence with a comma pause after its first word (the real-SIP tests say it too)."""


def spoken_on_the_line(folder: Path, words: str) -> Path:
    """espeak-ng saying `words` at the phone's rate, then a long silence."""
    voice = folder / "espeak.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(voice), words], check=True)
    line = folder / "sentence.wav"
    audio = read_wav(voice, PHONE_RATE) + AudioChunk.silence(SPEECH_TAIL_S, PHONE_RATE)
    write_wav(line, np.frombuffer(audio.pcm, dtype=np.int16))
    return line


async def talk_at_connect(servers: LiveKitServers, workdir: Path, sentence: Path) -> None:
    """One call where the phone says `sentence` as soon as it is answered, then hangs up
    once the agent has stopped for it (the worker saw the barge-in)."""
    phone = BaresipPhone(workdir)
    await phone.start()
    try:
        with log_shown_on_failure(phone):
            await phone.dial(servers.sip_uri(NUMBER))
            await phone.wait_for("CALL_ESTABLISHED", EVENT_S)
            await phone.say(sentence)
            await phone.wait_for("CALL_RTPESTAB", EVENT_S)
            await asyncio.sleep(AT_CONNECT_CALL_S)  # the greeting, the words, the barge-in
            await phone.hang_up()
            await phone.wait_for("CALL_CLOSED", EVENT_S)
    finally:
        await phone.stop()


def _transport(n: int) -> TimedTransport:
    """The worker's transport of call `n` (the calls come one after another)."""
    if len(TimedTransport.built) != n + 1:
        raise RuntimeError(f"{len(TimedTransport.built)} calls reached the worker, not {n + 1}")
    return TimedTransport.built[n]


def _published(transport: TimedTransport) -> float | None:
    return transport.room.published_at if transport.room is not None else None
