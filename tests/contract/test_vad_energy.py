import pytest

from tests.contract.vad_contract import VoiceActivityDetectorContract
from voice_agent.adapters.audio.energy_vad import EnergyVoiceActivityDetector
from voice_agent.adapters.audio.signal import tone
from voice_agent.domain.audio import AudioChunk


@pytest.fixture
def vad() -> EnergyVoiceActivityDetector:
    return EnergyVoiceActivityDetector()


@pytest.fixture
def speech() -> AudioChunk:
    return tone(1.5, 16000)


class TestEnergyVoiceActivityDetector(VoiceActivityDetectorContract):
    pass
