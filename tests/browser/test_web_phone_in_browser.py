"""The real thing: headless Chromium opens the web phone served by `voice-agent serve` on
the local stack, presses Call, and its fake microphone (espeak-ng speech) talks to the agent.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.agent_server import AgentServer, agent_server
from tests.browser.chromium import Page, chromium
from voice_agent.adapters.audio.wav import read_wav, write_wav
from voice_agent.domain.audio import AudioChunk

pytestmark = pytest.mark.slow
GREETING_ROOM_S = 7.0
"""Silence before the caller speaks: the greeting (about 4.5 s) plays out first."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentServer]:
    with agent_server(tmp_path_factory.mktemp("browser-phone")) as running:
        yield running


def caller_wav(folder: Path, words: str, *, after_s: float) -> Path:
    """espeak-ng saying `words` `after_s` seconds into the call, then silence."""
    speech = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(speech), words], check=True)
    said = read_wav(speech, 16000)
    caller = folder / "caller.wav"
    silence = AudioChunk.silence
    write_wav(caller, silence(after_s, 16000) + said + silence(15.0, 16000))
    return caller


@pytest.fixture
def polite_caller(tmp_path: Path) -> Path:
    return caller_wav(tmp_path, "Hello, are you open on Saturday?", after_s=GREETING_ROOM_S)


@pytest.fixture
def impatient_caller(tmp_path: Path) -> Path:
    return caller_wav(tmp_path, "Sorry, can I book a cleaning for Tuesday?", after_s=1.5)


@asynccontextmanager
async def calling(server: AgentServer, microphone: Path) -> AsyncIterator[Page]:
    """The page open in Chromium with `microphone` as its fake microphone, Call pressed."""
    async with chromium(fake_audio=microphone, loop_audio=False) as browser:
        page = await browser.open(server.url + "/")
        await page.evaluate("window.phone.call()")
        yield page


async def test_a_call_from_the_browser_is_heard_and_answered(
    server: AgentServer, polite_caller: Path
) -> None:
    async with calling(server, polite_caller) as page:
        await page.wait_for("window.phone.callId !== null && window.phone.stack === 'local'")
        await page.wait_for("window.phone.transcripts.some(t => t.role === 'caller')", timeout_s=60)
        caller = await page.evaluate(
            "window.phone.transcripts.filter(t => t.role === 'caller')[0].text"
        )
        assert "saturday" in str(caller).lower()
        await page.wait_for(
            "window.phone.transcripts.filter(t => t.role === 'agent').length >= 2"
            " && window.phone.latencies.length >= 1",
            timeout_s=60,
        )
        latency = await page.evaluate("window.phone.latencies[0].voice_to_voice_ms")
        # A sanity bound; the targets are measured by `python -m bench local`.
        assert 0 < float(latency) < 8000
        shown = await page.evaluate("document.getElementById('transcript').innerText")
        assert "Maple Street Dental" in str(shown)
        assert "ms voice to voice" in str(shown)
        played = await page.evaluate("window.phone.samplesPlayed")
        assert int(played) > 16000 * 5, "the greeting and the answer must have been played"
        await page.evaluate("window.phone.hangUp()")
        await page.wait_for("window.phone.ended === true")
        assert await page.evaluate("window.phone.endReason") == "caller_hung_up"
        assert page.errors == [], page.console_text()


async def test_the_caller_cuts_the_greeting_off_from_the_browser(
    server: AgentServer, impatient_caller: Path
) -> None:
    async with calling(server, impatient_caller) as page:
        await page.wait_for(
            "window.phone.transcripts.filter(t => t.role === 'agent').length >= 2", timeout_s=60
        )
        greeting, answer = await page.evaluate(
            "window.phone.transcripts.filter(t => t.role === 'agent')"
        )
        assert greeting["interrupted"] is True
        assert answer["interrupted"] is False
        assert await page.evaluate("window.phone.clears") >= 1
        caller = await page.evaluate(
            "window.phone.transcripts.filter(t => t.role === 'caller')[0].text"
        )
        assert "cleaning" in str(caller).lower()
        shown = await page.evaluate("document.getElementById('transcript').innerText")
        assert "interrupted" in str(shown)
        await page.evaluate("window.phone.hangUp()")
        await page.wait_for("window.phone.ended === true")
        assert page.errors == [], page.console_text()
