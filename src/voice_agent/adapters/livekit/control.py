"""`LiveKitControl`: what the agent and the operator ask of the LiveKit server's API (Twirp,
through livekit-api): remove a participant (hang up), transfer a SIP participant (SIP REFER),
provision the inbound side, list it, and dial out.

Transfer and dial failures carry the SIP status the far end answered (Twirp meta
`sip_status_code`), mapped to the port's `TransferOutcome`; every other failure is one of the
port's provider errors (a refused key, the server down or slow)."""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass

import aiohttp
from google.protobuf.duration_pb2 import Duration
from livekit import api
from livekit.protocol import sip

from voice_agent.adapters.livekit.api_errors import (
    outcome_of,
    provider_error,
    sip_status_of,
    translated,
)
from voice_agent.adapters.livekit.provisioning import (
    InboundSetup,
    Provisioned,
    SipStatus,
    setup_inbound,
    sip_status,
)
from voice_agent.adapters.livekit.settings import LiveKitSettings
from voice_agent.application.ports.errors import ProviderError
from voice_agent.application.ports.transport import TransferFailed, TransferOutcome

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
"""Longest wait for an API answer that does not ring a phone (dialing waits for the ring)."""


class DialFailed(Exception):
    """`dial` could not reach the number: `outcome` says why, as for a transfer; `detail`
    names the SIP status or the error (numbers masked by the logger, never the secret)."""

    def __init__(self, outcome: TransferOutcome, detail: str) -> None:
        super().__init__(f"dial {outcome.value}: {detail}")
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Dialled:
    """An answered outbound call: the room the agent was dispatched to and the callee."""

    room: str
    participant_identity: str
    sip_call_id: str


class LiveKitControl:
    """One API client per process, opened on first use; `aclose` releases it."""

    def __init__(self, settings: LiveKitSettings) -> None:
        self._settings = settings
        self._client: api.LiveKitAPI | None = None

    @property
    def settings(self) -> LiveKitSettings:
        return self._settings

    @property
    def client(self) -> api.LiveKitAPI:
        if self._client is None:
            self._client = api.LiveKitAPI(
                self._settings.http_url,
                self._settings.api_key,
                self._settings.api_secret,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- in a call -------------------------------------------------------------------
    async def remove_participant(self, room: str, identity: str) -> None:
        """Take `identity` out of `room` (for a SIP participant: hang up its call)."""
        with translated("remove participant"):
            await self.client.room.remove_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )

    async def transfer_participant(
        self,
        room: str,
        identity: str,
        destination: str,
        *,
        play_dialtone: bool = False,
        ringing_timeout_s: float = 30.0,
    ) -> None:
        """Hand the SIP participant to `destination` (`tel:+...` or `sip:...`); returns once
        the far end answered. Raises `TransferFailed` (the caller still on the line): busy
        (SIP 486, 600), declined (603, 403), no answer (408, 480, 487, or no answer from the
        server within the ringing timeout), failed (anything else, an unknown participant
        included)."""
        request = api.TransferSIPParticipantRequest(
            room_name=room,
            participant_identity=identity,
            transfer_to=destination,
            play_dialtone=play_dialtone,
            ringing_timeout=_duration(ringing_timeout_s),
        )
        try:
            response = await self.client.sip.transfer_sip_participant(request)
        except api.ServerError as error:
            status, phrase = sip_status_of(error)
            if status is None and error.code in ("unauthenticated", "permission_denied"):
                raise TransferFailed(TransferOutcome.FAILED, str(provider_error(error))) from None
            reason = error.metadata.get("sip_transfer_reason")
            raise TransferFailed(outcome_of(status, reason), phrase) from None
        except TimeoutError:
            raise TransferFailed(
                TransferOutcome.NO_ANSWER, f"no answer within {ringing_timeout_s:g} s"
            ) from None
        except aiohttp.ClientError as error:
            raise TransferFailed(
                TransferOutcome.FAILED, f"cannot reach the server ({type(error).__name__})"
            ) from None
        # A failure can also come back as an answer (livekit-api: "a status other than
        # successful means the transfer did not complete, even when no error was raised").
        # Older servers answer an empty message (status 0, ongoing): that is a success.
        if response.status == sip.STS_TRANSFER_FAILED:
            code = int(response.sip_status.code) if response.HasField("sip_status") else None
            reason = sip.SIPTransferReason.Name(response.reason)
            detail = f"SIP {code}" if code else f"transfer failed ({reason})"
            raise TransferFailed(outcome_of(code or None, reason), detail)

    # -- operations ----------------------------------------------------------------------
    async def setup(self, setup: InboundSetup) -> Provisioned:
        return await setup_inbound(self.client, setup)

    async def status(self) -> SipStatus:
        return await sip_status(self.client)

    async def dial(
        self,
        number: str,
        *,
        outbound_trunk_id: str,
        room_prefix: str = "call-",
        ringing_timeout_s: float = 30.0,
    ) -> Dialled:
        """Call `number` (E.164) through the outbound trunk into a new room with our agent
        dispatched to it; returns once the callee answered. Raises `DialFailed` (the room is
        deleted again) or a provider error."""
        room = f"{room_prefix}out-{secrets.token_hex(4)}"
        with translated("dial"):
            await self.client.room.create_room(
                api.CreateRoomRequest(
                    name=room,
                    agents=[api.RoomAgentDispatch(agent_name=self._settings.agent_name)],
                )
            )
        request = api.CreateSIPParticipantRequest(
            sip_trunk_id=outbound_trunk_id,
            sip_call_to=number,
            room_name=room,
            participant_identity="callee",
            participant_name="callee",
            wait_until_answered=True,
            ringing_timeout=_duration(ringing_timeout_s),
        )
        try:
            answered = await self.client.sip.create_sip_participant(request)
        except api.ServerError as error:
            await self._forget(room)
            status, phrase = sip_status_of(error)
            if status is None:
                if error.code == "not_found":
                    raise DialFailed(
                        TransferOutcome.FAILED,
                        f"the outbound trunk {outbound_trunk_id} does not exist "
                        "(see `voice-agent sip status`)",
                    ) from None
                raise provider_error(error) from None
            raise DialFailed(outcome_of(status), phrase) from None
        except TimeoutError:
            await self._forget(room)
            raise DialFailed(
                TransferOutcome.NO_ANSWER, f"no answer within {ringing_timeout_s:g} s"
            ) from None
        except aiohttp.ClientError as error:
            await self._forget(room)
            raise DialFailed(
                TransferOutcome.FAILED, f"cannot reach the server ({type(error).__name__})"
            ) from None
        return Dialled(room, answered.participant_identity, answered.sip_call_id)

    async def _forget(self, room: str) -> None:
        """Delete a room whose call never happened, so the agent dispatched to it leaves."""
        with contextlib.suppress(ProviderError), translated("delete room"):
            await self.client.room.delete_room(api.DeleteRoomRequest(room=room))


def _duration(seconds: float) -> Duration:
    whole = int(seconds)
    return Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))
