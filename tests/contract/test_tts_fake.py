import pytest

from tests.contract.tts_contract import TextToSpeechContract
from voice_agent.adapters.fakes.tts import FakeTextToSpeech, FakeTtsSettings


@pytest.fixture(params=[True, False], ids=["word-timings", "phrase-spans"])
def tts(request: pytest.FixtureRequest) -> FakeTextToSpeech:
    return FakeTextToSpeech(FakeTtsSettings(ttfb_s=0.01, word_timings=request.param))


class TestFakeTextToSpeech(TextToSpeechContract):
    pass
