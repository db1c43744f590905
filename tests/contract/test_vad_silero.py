import gc

import pytest

from tests.contract.local_models import SENTENCE, spoken
from tests.contract.vad_contract import VoiceActivityDetectorContract
from voice_agent.adapters.local.silero import SileroSettings, SileroVoiceActivityDetector
from voice_agent.application.ports.vad import VadEvent, VadSession, VoiceEnded, VoiceStarted
from voice_agent.domain.audio import AudioChunk

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def speech() -> AudioChunk:
    """One breath: `SENTENCE` without its opening "Hello," (see the comma test below)."""
    return spoken(SENTENCE.removeprefix("Hello, ").capitalize())


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


def test_a_pause_at_a_comma_ends_the_voice_and_the_rest_starts_it_again() -> None:
    """Piper pauses about 0.28 s after "Hello,": longer than the 0.25 s the voice needs to
    end, so the recognizer finalizes "Hello." and the reply may start. The engine does not
    take the turn on it (its shortest end-of-turn delay is 0.35 s from the voice's end, and
    voice coming back drops the reply unsaid: tests/e2e/test_scripted_calls.py)."""
    session = SileroVoiceActivityDetector().open_session(16000)
    audio = AudioChunk.silence(0.5, 16000) + spoken(SENTENCE) + AudioChunk.silence(1.5, 16000)
    events = [type(e) for frame in audio.split(0.02) for e in session.push(frame)]
    assert events == [VoiceStarted, VoiceEnded, VoiceStarted, VoiceEnded]
    unsplit = SileroVoiceActivityDetector(SileroSettings(min_silence_s=0.3)).open_session(16000)
    events = [type(e) for frame in audio.split(0.02) for e in unsplit.push(frame)]
    assert events == [VoiceStarted, VoiceEnded]


def test_calls_one_after_another_reuse_one_loaded_model_from_a_fresh_state(
    speech: AudioChunk,
) -> None:
    """Loading a model takes 40-60 ms on the event loop as a call is answered: a call ended
    gives its model back, reset, and the next call hears exactly what a fresh model hears."""
    audio = AudioChunk.silence(0.5, 16000) + speech + AudioChunk.silence(1.0, 16000)

    def heard(session: VadSession) -> list[VadEvent]:
        return [e for frame in audio.split(0.02) for e in session.push(frame)]

    expected = heard(SileroVoiceActivityDetector(loaded=0).open_session(16000))
    vad = SileroVoiceActivityDetector(loaded=1)
    call = vad.open_session(16000)
    for frame in (AudioChunk.silence(0.5, 16000) + speech).split(0.02):  # ends mid-speech
        call.push(frame)
    del call
    gc.collect()
    assert heard(vad.open_session(16000)) == expected
    assert vad.pool.loads == 1


def test_calls_at_the_same_time_each_get_their_own_model() -> None:
    vad = SileroVoiceActivityDetector(loaded=1)
    sessions = [vad.open_session(16000) for _ in range(3)]
    assert (vad.pool.loads, vad.pool.free) == (3, 0)
    del sessions
    gc.collect()
    assert vad.pool.free == 3
