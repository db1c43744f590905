import pytest

from tests.contract.stt_contract import SpeechToTextContract
from voice_agent.adapters.audio.signal import tone
from voice_agent.adapters.fakes.stt import ScriptedSpeechToText
from voice_agent.domain.audio import AudioChunk


@pytest.fixture
def expected_words() -> list[str]:
    return ["book", "table"]


@pytest.fixture
def stt() -> ScriptedSpeechToText:
    return ScriptedSpeechToText(["I'd like to book a table"])


@pytest.fixture
def utterance() -> AudioChunk:
    return tone(1.2, 16000) + AudioChunk.silence(1.0, 16000)


class TestScriptedSpeechToText(SpeechToTextContract):
    pass
