from functools import cache

import pytest

from tests.contract.local_models import SENTENCE, spoken
from tests.contract.stt_contract import SpeechToTextContract
from voice_agent.adapters.local.whisper import WhisperSession, WhisperSpeechToText
from voice_agent.application.ports.stt import FinalTranscript, UtteranceEnded
from voice_agent.domain.audio import AudioChunk

pytestmark = pytest.mark.slow


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


async def _transcripts(
    stt: WhisperSpeechToText, audio: AudioChunk
) -> tuple[list[str], WhisperSession]:
    session = await stt.open_session()
    for piece in audio.split(0.02):
        await session.push_audio(piece)
    finals: list[str] = []
    async for event in session.events():
        if isinstance(event, FinalTranscript):
            finals.append(event.text)
        if isinstance(event, UtteranceEnded):
            break
    await session.close()
    return finals, session


async def test_the_transcript_started_at_the_pause_is_the_one_used(
    stt: WhisperSpeechToText,
) -> None:
    finals, session = await _transcripts(
        stt, spoken("Are you open on Saturday?") + AudioChunk.silence(1.0, 16000)
    )
    assert "saturday" in finals[0].lower()
    assert session.guesses_used == 1


async def test_a_breath_mid_sentence_drops_the_early_guess(stt: WhisperSpeechToText) -> None:
    breath = AudioChunk.silence(0.15, 16000)
    audio = spoken("I would like to book") + breath + spoken("a cleaning on Tuesday.")
    finals, session = await _transcripts(stt, audio + AudioChunk.silence(1.0, 16000))
    assert len(finals) == 1
    assert "would like" in finals[0].lower(), "the words before the breath are kept"
    assert "tuesday" in finals[0].lower(), "and so are the words after it"
    assert session.guesses_dropped >= 1
