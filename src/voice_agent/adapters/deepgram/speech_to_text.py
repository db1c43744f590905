"""`DeepgramSpeechToText`: the `SpeechToText` port on Deepgram's live websocket."""

from __future__ import annotations

from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment

from voice_agent.adapters.deepgram.connection import DeepgramConnector
from voice_agent.adapters.deepgram.session import DeepgramSession
from voice_agent.adapters.deepgram.settings import DeepgramSettings
from voice_agent.application.ports.stt import SttCapabilities


class DeepgramSpeechToText:
    """One client, many sessions (one websocket per call)."""

    def __init__(self, settings: DeepgramSettings) -> None:
        self._settings = settings
        http_base = settings.url.replace("wss://", "https://").replace("ws://", "http://")
        environment = DeepgramClientEnvironment(
            base=http_base, production=settings.url, agent=settings.url, agent_rest=http_base
        )
        client = AsyncDeepgramClient(api_key=settings.api_key, environment=environment)
        self._connector = DeepgramConnector(client, settings)

    @property
    def capabilities(self) -> SttCapabilities:
        return SttCapabilities(sample_rate=self._settings.sample_rate)

    async def open_session(self) -> DeepgramSession:
        session = DeepgramSession(self._connector, self._settings)
        await session.start()
        return session

    async def verify(self) -> None:
        """Open and close a socket: bad credentials fail here (`ProviderAuthError`), at
        start-up, instead of in the middle of a call."""
        session = await self.open_session()
        await session.close()
