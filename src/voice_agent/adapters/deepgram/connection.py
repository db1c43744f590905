"""Opening one Deepgram websocket with the SDK, errors mapped to `ProviderError`."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from deepgram import AsyncDeepgramClient
from deepgram.listen.v1.socket_client import AsyncV1SocketClient

from voice_agent.adapters.deepgram.errors import provider_error
from voice_agent.adapters.deepgram.settings import DeepgramSettings


class DeepgramConnector:
    def __init__(self, client: AsyncDeepgramClient, settings: DeepgramSettings) -> None:
        self._client = client
        self._settings = settings

    async def connect(self, stack: AsyncExitStack) -> AsyncV1SocketClient:
        """Open a socket whose lifetime is `stack`'s; raises `ProviderError`."""
        s = self._settings
        manager = self._client.listen.v1.connect(
            model=s.model,
            language=s.language,
            encoding="linear16",
            sample_rate=s.sample_rate,
            channels=1,
            interim_results="true",
            endpointing=s.endpointing_ms,
            utterance_end_ms=s.utterance_end_ms,
            vad_events="true",
            punctuate="true",
            smart_format="true",
        )
        try:
            async with asyncio.timeout(s.connect_timeout_s):
                return await stack.enter_async_context(manager)
        except Exception as exc:
            raise provider_error(exc) from None
