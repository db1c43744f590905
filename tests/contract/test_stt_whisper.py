from functools import cache

import pytest

from tests.contract.local_models import SENTENCE, spoken
from tests.contract.stt_contract import SpeechToTextContract
from voice_agent.adapters.local.whisper import WhisperSpeechToText
from voice_agent.domain.audio import AudioChunk


@cache
def _whisper() -> WhisperSpeechToText:
    return WhisperSpeechToText.load()


@pytest.fixture
def stt() -> WhisperSpeechToText:
    return _whisper()


@pytest.fixture(scope="session")
def utterance() -> AudioChunk:
    return spoken(SENTENCE) + AudioChunk.silence(1.0, 16000)


@pytest.fixture
def expected_words() -> list[str]:
    return ["book", "table", "tonight"]


class TestWhisperSpeechToText(SpeechToTextContract):
    pass
