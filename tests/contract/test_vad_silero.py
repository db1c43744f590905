import pytest

from tests.contract.local_models import SENTENCE, spoken
from tests.contract.vad_contract import VoiceActivityDetectorContract
from voice_agent.adapters.local.silero import SileroVoiceActivityDetector
from voice_agent.domain.audio import AudioChunk

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def speech() -> AudioChunk:
    return spoken(SENTENCE)


@pytest.fixture
def vad() -> SileroVoiceActivityDetector:
    return SileroVoiceActivityDetector()


class TestSileroVoiceActivityDetector(VoiceActivityDetectorContract):
    def test_noise_like_a_tone_is_not_mistaken_for_speech(
        self, vad: SileroVoiceActivityDetector
    ) -> None:
        from voice_agent.adapters.audio.signal import tone

        session = vad.open_session(16000)
        events = [e for frame in tone(2.0, 16000).split(0.02) for e in session.push(frame)]
        assert events == []
