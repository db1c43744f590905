import pytest

from tests.contract.local_models import piper
from tests.contract.tts_contract import TextToSpeechContract
from voice_agent.adapters.local.piper import PiperTextToSpeech

pytestmark = pytest.mark.slow


@pytest.fixture
def tts() -> PiperTextToSpeech:
    return piper()


class TestPiperTextToSpeech(TextToSpeechContract):
    pass
