"""`LiveKitCallTransport`: one phone call as a LiveKit room, the caller a SIP participant.

`open` joins the room (through `CallRoom`, room.py), publishes the agent's track, and waits
(at most `answer_timeout_s`) for the caller's audio track; the SIP service answers the phone
(200 OK) only once the agent publishes, so the caller hears ringing until then. The caller is
the participant of kind SIP; an ordinary participant is taken only while no SIP participant
is in the room (a test client, a browser), and other agents are never listened to. Caller
audio is read from the moment its track is subscribed (no first words lost), resampled by
the SDK to `sample_rate`. Agent audio is paced by the same `PacedPlayout` as every line,
`lead_s` ahead of real time into the `AudioSource` queue (which plays it in real time);
between replies the track carries silence, because the SIP service hangs up a call whose
media stops, and a reply's first frame drops the silence still queued (it is heard at
once). DTMF arrives as the room's `sip_dtmf_received`; `send_dtmf` presses keys towards the
phone side, one RFC 4733 event every `dtmf_interval_s`.

The call ends for the caller when the caller leaves, the room closes, or the caller's
`sip.callStatus` becomes `hangup` (the SIP leg is gone before the participant is). `hang_up`
removes the caller from the room through the server's RoomService (for a SIP participant
that ends the phone call); `close` takes the agent out. `transfer` plays out what is queued,
then asks the injected `transfer_participant` (a SIP REFER through the server) to hand the
caller over, for at most `transfer_timeout_s`.

Tested on a scripted room (tests/scripted_room.py) and on the real server with an
ordinary participant as the caller; the SIP service itself cannot be built here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from voice_agent.adapters.audio.playout import PacedPlayout
from voice_agent.adapters.event_channel import EventChannel
from voice_agent.adapters.livekit.room import (
    CallRoom,
    LiveKitRoom,
    ParticipantKind,
    RoomParticipant,
)
from voice_agent.application.ports.transport import (
    DtmfPressed,
    LineNotAnswered,
    TransferFailed,
    TransferOutcome,
    TransportEvent,
)
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.dtmf import checked_dtmf, dtmf_code

log = logging.getLogger(__name__)
RemoveParticipant = Callable[[str, str], Awaitable[None]]
"""Removes participant `identity` (second) from room `name` (first): RoomService's call."""
TransferParticipant = Callable[[str, str, str], Awaitable[None]]
"""Transfers participant `identity` (second) of room `name` (first) to `destination` (third,
`tel:` or `sip:`) with a SIP REFER; returns once the caller is handed over, raises
`TransferFailed` with the SIP status mapped to an outcome otherwise."""
PHONE_NUMBER = "sip.phoneNumber"
CALL_ID = "sip.callID"
TRUNK_ID = "sip.trunkID"
CALL_STATUS = "sip.callStatus"
TRANSFER_SCHEMES = ("tel:", "sip:", "sips:")
AGENT_LEAD_S = 0.06
"""Agent audio is handed to the room's `AudioSource` this far ahead of real time (its
queue, `room.SOURCE_QUEUE_MS`, plays it out in real time): an event-loop stall shorter than
this leaves no gap at the caller."""
SOURCE_TICK_S = 0.01
"""The `AudioSource` hands its queue to WebRTC 10 ms at a time: idle silence is dropped
before a reply only once the agent's earlier audio is out of the queue by this margin."""


class LiveKitCallTransport:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        sample_rate: int = 16000,
        frame_s: float = 0.02,
        answer_timeout_s: float = 20.0,
        transfer_timeout_s: float = 30.0,
        dtmf_interval_s: float = 0.25,
        lead_s: float = AGENT_LEAD_S,
        room: CallRoom | None = None,
        remove_participant: RemoveParticipant | None = None,
        transfer_participant: TransferParticipant | None = None,
    ) -> None:
        self._rate = sample_rate
        self._frame_s = frame_s
        self._answer_timeout_s = answer_timeout_s
        self._transfer_timeout_s = transfer_timeout_s
        self._dtmf_interval_s = dtmf_interval_s
        self._room: CallRoom = room or LiveKitRoom(url, token, sample_rate=sample_rate)
        self._remove_participant = remove_participant
        self._transfer_participant = transfer_participant
        self._outgoing: asyncio.Queue[AudioChunk] = asyncio.Queue()
        self._playout = PacedPlayout(
            sample_rate, self._outgoing.put_nowait, frame_s=frame_s, lead_s=lead_s
        )
        self._queued_until = 0.0
        """Loop time the room's queue will have played all it was given (real time)."""
        self._agent_queued_until = 0.0
        """... and all the agent audio in it (what follows is idle silence)."""
        self._audio: EventChannel[AudioChunk] = EventChannel(max_items=500)
        self._events: EventChannel[TransportEvent] = EventChannel()
        self._present: dict[str, RoomParticipant] = {}
        self._caller: RoomParticipant | None = None
        self._answered: asyncio.Future[RoomParticipant] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ended = asyncio.Event()
        self._closed = False
        self.hung_up_by: str | None = None
        """Who ended the call: `caller`, `agent` or `transfer`."""
        self.closed_for: str | None = None
        self.transferred_to: str | None = None

    # -- call set-up -----------------------------------------------------------------
    async def open(self) -> None:
        self._answered = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                await self._room.connect(self)
                self._tasks.append(asyncio.create_task(self._write(), name="livekit-writer"))
                caller = await self._answered
        except TimeoutError:
            raise LineNotAnswered(f"no caller audio within {self._answer_timeout_s:g} s") from None
        except ConnectionError as error:
            raise LineNotAnswered(str(error)) from None
        finally:
            if not self._answered.done():
                # Nobody waits for an answer any more: a room closing later must not leave
                # an exception on it that nobody retrieves.
                self._answered.cancel()
        self._log_answer(caller)
        frames = self._room.caller_audio(caller.identity)
        self._tasks.append(asyncio.create_task(self._read(frames), name="livekit-reader"))
        if caller.attributes.get(CALL_STATUS) == "hangup":
            self._end("caller")

    async def close(self, reason: str, message: str | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        self.closed_for = reason
        self._end(self.hung_up_by or "agent")
        await self._playout.aclose()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._room.disconnect()

    # -- CallTransport ---------------------------------------------------------------
    @property
    def caller_number(self) -> str | None:
        if self._caller is None:
            return None
        return self._caller.attributes.get(PHONE_NUMBER) or None

    @property
    def input_sample_rate(self) -> int:
        return self._rate

    @property
    def output_sample_rate(self) -> int:
        return self._rate

    @property
    def played_seconds(self) -> float:
        return self._playout.played_seconds

    def audio_frames(self) -> AsyncIterator[AudioChunk]:
        return self._audio.stream()

    def events(self) -> AsyncIterator[TransportEvent]:
        return self._events.stream()

    async def play(self, chunk: AudioChunk) -> None:
        if not self._ended.is_set():
            self._playout.play(chunk)

    async def clear_audio(self) -> None:
        self._playout.clear()
        while not self._outgoing.empty():
            self._outgoing.get_nowait()
        self._room.clear_queue()
        self._queued_until = self._agent_queued_until = asyncio.get_running_loop().time()

    async def wait_played_out(self) -> None:
        await self._playout.wait_played_out()

    async def hang_up(self) -> None:
        """End the call: the caller is removed from the room (the SIP leg hangs up)."""
        self._end("agent")
        if self._caller is None or self._remove_participant is None:
            return
        try:
            await self._remove_participant(self._room.name, self._caller.identity)
        except Exception as error:  # the caller may have left meanwhile
            log.info("could not remove the caller from room %s: %s", self._room.name, error)

    async def transfer(self, destination: str) -> None:
        """Play out what is queued, then hand the caller to `destination` (`tel:`/`sip:`)."""
        if not destination.startswith(TRANSFER_SCHEMES):
            raise TransferFailed(
                TransferOutcome.FAILED,
                f"cannot transfer to {destination!r}: give a tel: or sip: URI",
            )
        if self._transfer_participant is None:
            raise TransferFailed(TransferOutcome.FAILED, "transfers are not configured")
        if self._caller is None or self._ended.is_set():
            raise TransferFailed(TransferOutcome.FAILED, "the caller is no longer on the line")
        await self._played_out_unless_ended()
        if self._ended.is_set():
            raise TransferFailed(TransferOutcome.FAILED, "the caller hung up before the transfer")
        try:
            async with asyncio.timeout(self._transfer_timeout_s):
                await self._transfer_participant(
                    self._room.name, self._caller.identity, destination
                )
        except TimeoutError:
            raise TransferFailed(
                TransferOutcome.NO_ANSWER,
                f"{destination} did not answer within {self._transfer_timeout_s:g} s",
            ) from None
        except TransferFailed:
            raise
        except Exception as error:
            raise TransferFailed(TransferOutcome.FAILED, str(error)) from error
        self.transferred_to = destination
        log.info("call in room %s transferred to %s", self._room.name, destination)
        self._end("transfer")
        self.hung_up_by = "transfer"  # the SIP leg may have left the room before the answer

    async def send_dtmf(self, digits: str) -> None:
        """Press `digits` towards the phone side, `dtmf_interval_s` apart."""
        checked_dtmf(digits)
        for index, digit in enumerate(digits):
            if index:
                await asyncio.sleep(self._dtmf_interval_s)
            await self._room.publish_dtmf(dtmf_code(digit), digit)

    # -- RoomListener: what the room reports -----------------------------------------
    def participant_joined(self, participant: RoomParticipant) -> None:
        self._present[participant.identity] = participant

    def audio_track_ready(self, participant: RoomParticipant) -> None:
        self._present[participant.identity] = participant
        if self._answered is None or self._answered.done() or not self._may_be_caller(participant):
            return
        self._caller = participant
        self._answered.set_result(participant)

    def participant_left(self, identity: str) -> None:
        self._present.pop(identity, None)
        if self._caller is not None and identity == self._caller.identity:
            self._end("caller")

    def attributes_changed(self, participant: RoomParticipant) -> None:
        self._present[participant.identity] = participant
        if self._caller is None or participant.identity != self._caller.identity:
            return
        self._caller = participant
        if participant.attributes.get(CALL_STATUS) == "hangup":
            self._end("caller")

    def dtmf_received(self, digit: str) -> None:
        if digit:
            self._events.put(DtmfPressed(digit))

    def room_closed(self) -> None:
        if self._answered is not None and not self._answered.done():
            # Still answering: the line is gone (room deleted, agent removed), so `open`
            # says so now instead of waiting out the answer timeout.
            self._answered.set_exception(ConnectionError("the room closed before a caller"))
        self._end("caller")

    # -- the call --------------------------------------------------------------------
    async def _played_out_unless_ended(self) -> None:
        """Wait for the queued audio to play out; a call that ends meanwhile never plays it
        (the playout halts and keeps its waiters), so stop waiting then too."""
        waits = {
            asyncio.ensure_future(self._playout.wait_played_out()),
            asyncio.ensure_future(self._ended.wait()),
        }
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def _may_be_caller(self, participant: RoomParticipant) -> bool:
        """The SIP participant; an ordinary one only while no SIP participant is here."""
        if participant.kind is ParticipantKind.SIP:
            return True
        if participant.kind is not ParticipantKind.STANDARD:
            return False
        return not any(p.kind is ParticipantKind.SIP for p in self._present.values())

    def _log_answer(self, caller: RoomParticipant) -> None:
        attributes = caller.attributes
        log.info(
            "call answered in room %s: caller %s (%s), sip.callID=%s sip.trunkID=%s"
            " sip.phoneNumber=%s",
            self._room.name,
            caller.identity,
            caller.kind.value,
            attributes.get(CALL_ID, "-"),
            attributes.get(TRUNK_ID, "-"),
            attributes.get(PHONE_NUMBER, "-"),
        )

    async def _read(self, frames: AsyncIterator[AudioChunk]) -> None:
        try:
            async for frame in frames:
                self._audio.put(frame)
        finally:
            self._end("caller")

    async def _write(self) -> None:
        """Agent frames as the playout paces them, silence when it has none. A reply's
        first frame drops the idle silence still queued in the room (up to a frame: 10 ms
        on average off the caller's voice-to-voice), never agent audio.

        Idle silence goes out at about 2/3 of real time (a frame after each 30 ms without
        agent audio). Writing it on a real-time deadline instead was tried and measured:
        with 8 calls in one worker it raised the frame jitter p50 from 1.5 ms to 1.3 s and
        the event-loop lag p99 from 12 to 330 ms (`python -m bench livekit --part
        concurrency`), so it waits for a check on a real SIP leg."""
        silence = AudioChunk.silence(self._frame_s, self._rate)
        loop = asyncio.get_running_loop()
        while True:
            try:
                chunk = await asyncio.wait_for(self._outgoing.get(), self._frame_s * 1.5)
            except TimeoutError:
                await self._room.capture(silence)
                self._queued_until = max(loop.time(), self._queued_until) + silence.duration
                continue
            now = loop.time()
            if self._agent_queued_until + SOURCE_TICK_S <= now < self._queued_until:
                # Only idle silence is queued: the reply is heard at once, not after it.
                self._room.clear_queue()
                self._queued_until = now
            await self._room.capture(chunk)
            self._queued_until = max(now, self._queued_until) + chunk.duration
            self._agent_queued_until = self._queued_until

    def _end(self, by: str) -> None:
        if self._ended.is_set():
            return
        self.hung_up_by = by
        self._ended.set()
        self._playout.halt()
        self._audio.close()
        self._events.close()
