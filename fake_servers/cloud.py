"""All three fake provider servers at once, and the cloud stack pointed at them: what the
end-to-end tests and `python -m bench providers` run."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from pydantic import SecretStr

from fake_servers.cartesia import FakeCartesiaServer
from fake_servers.deepgram import FakeDeepgramServer
from fake_servers.groq import FakeGroqServer
from voice_agent.adapters.clock import LoopClock
from voice_agent.entrypoints.bootstrap.cloud import CloudProviders, build_cloud_providers
from voice_agent.entrypoints.bootstrap.cloud_settings import CloudSettings, ResilienceSettings
from voice_agent.entrypoints.bootstrap.settings import Settings


class FakeCloud:
    def __init__(self) -> None:
        self.deepgram = FakeDeepgramServer()
        self.groq = FakeGroqServer()
        self.cartesia = FakeCartesiaServer()

    async def __aenter__(self) -> FakeCloud:
        for server in (self.deepgram, self.groq, self.cartesia):
            await server.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in (self.deepgram, self.groq, self.cartesia):
            await server.stop()

    def settings(self, *, groq_key: str | None = None, **resilience: Any) -> Settings:
        return Settings(
            deepgram_api_key=SecretStr(self.deepgram.api_key),
            groq_api_key=SecretStr(groq_key or self.groq.api_key),
            cartesia_api_key=SecretStr(self.cartesia.api_key),
            cloud=CloudSettings(
                deepgram_url=self.deepgram.ws_url,
                groq_base_url=self.groq.url,
                cartesia_base_url=self.cartesia.url,
                cartesia_websocket_url=self.cartesia.ws_url,
            ),
            resilience=ResilienceSettings(**resilience),
        )

    def providers(self, **resilience: Any) -> CloudProviders:
        return build_cloud_providers(self.settings(**resilience), LoopClock())
