from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest

from tests.contract.local_models import piper
from tests.contract.tts_contract import TextToSpeechContract
from voice_agent.adapters.local.foreground import Foreground
from voice_agent.adapters.local.piper import PiperTextToSpeech
from voice_agent.application.ports.tts import SynthesizedSpan

pytestmark = pytest.mark.slow


@pytest.fixture
def tts() -> PiperTextToSpeech:
    return piper()


class TestPiperTextToSpeech(TextToSpeechContract):
    pass


class CountingForeground(Foreground):
    def __init__(self) -> None:
        super().__init__()
        self.holds = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        self.holds += 1
        with super().hold():
            yield


async def _phrases(*texts: str) -> AsyncIterator[str]:
    for text in texts:
        yield text


async def test_only_the_first_phrase_has_the_cores_to_itself() -> None:
    foreground = CountingForeground()
    tts = PiperTextToSpeech(piper()._voice, foreground=foreground)
    phrases = _phrases("Yes, we are open.", "From nine to five.", "See you then.")
    events = [e async for e in tts.synthesize(phrases, sample_rate=16000)]
    assert sum(isinstance(e, SynthesizedSpan) for e in events) == 3
    assert foreground.holds == 1
    assert not foreground.busy
