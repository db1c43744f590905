import asyncio
from functools import cache

import numpy as np
import pytest

from tests.contract.local_models import SENTENCE, spoken
from tests.contract.stt_contract import SpeechToTextContract
from voice_agent.adapters.audio.signal import resample, to_int16
from voice_agent.adapters.local.foreground import Foreground
from voice_agent.adapters.local.whisper import (
    FULL_WINDOW_S,
    WhisperSession,
    WhisperSpeechToText,
    ends_repeating,
)
from voice_agent.application.ports.stt import FinalTranscript, InterimTranscript, UtteranceEnded
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


async def _push(session: WhisperSession, audio: AudioChunk) -> None:
    for piece in audio.split(0.02):
        await session.push_audio(piece)


async def _next_transcript(session: WhisperSession) -> InterimTranscript | FinalTranscript:
    async def first() -> InterimTranscript | FinalTranscript:
        async for event in session.events():
            if isinstance(event, InterimTranscript | FinalTranscript):
                return event
        raise AssertionError("the session closed without a transcript")

    return await asyncio.wait_for(first(), timeout=30)


# Less than the voice detector's silence rule (0.25 s): the voice has not ended yet.
SHORT_PAUSE = AudioChunk.silence(0.15, 16000)


async def test_the_words_at_a_pause_come_as_an_interim_before_the_end_is_confirmed(
    stt: WhisperSpeechToText,
) -> None:
    session = await stt.open_session()
    await _push(session, spoken("Are you open on Saturday?") + SHORT_PAUSE)
    guess = await _next_transcript(session)
    assert isinstance(guess, InterimTranscript)
    assert guess.at_pause
    assert "saturday" in guess.text.lower()
    await _push(session, AudioChunk.silence(1.0, 16000))
    final = await _next_transcript(session)
    assert isinstance(final, FinalTranscript)
    assert final.text == guess.text, "the final says what the guess said"
    await session.close()


async def test_words_at_a_pause_the_caller_talks_over_are_withdrawn(
    stt: WhisperSpeechToText,
) -> None:
    session = await stt.open_session()
    await _push(session, spoken("I would like to book") + SHORT_PAUSE)
    guess = await _next_transcript(session)
    assert isinstance(guess, InterimTranscript)
    assert guess.at_pause
    await _push(session, spoken("a cleaning on Tuesday."))
    withdrawn = await _next_transcript(session)
    assert withdrawn == InterimTranscript(guess.text, at_pause=False)
    await _push(session, AudioChunk.silence(1.0, 16000))
    final = await _next_transcript(session)
    assert isinstance(final, FinalTranscript)
    assert "would like" in final.text.lower()
    assert "tuesday" in final.text.lower()
    await session.close()


async def test_words_before_a_pause_the_caller_went_on_from_still_come_as_an_interim(
    stt: WhisperSpeechToText,
) -> None:
    """The caller resumes before the guess at the pause is done: the guess's words still
    come, as a plain interim (what confirms a barge-in over the agent), before the final."""
    session = await stt.open_session()
    await _push(session, spoken("Hello,") + SHORT_PAUSE + spoken("I would like to book"))
    so_far = await _next_transcript(session)
    assert isinstance(so_far, InterimTranscript)
    assert not so_far.at_pause
    assert "hello" in so_far.text.lower()
    assert "book" not in so_far.text.lower(), "only the words before the pause"
    await _push(session, AudioChunk.silence(1.0, 16000))
    final = await _next_transcript(session)
    while isinstance(final, InterimTranscript):  # guesses at later pauses, if any
        final = await _next_transcript(session)
    assert "book" in final.text.lower()
    await session.close()


def _floats(audio: AudioChunk) -> np.ndarray:
    return to_int16(audio).astype(np.float32) / 32768.0


def _phone(text: str) -> np.ndarray:
    """`text` as a caller on the phone sounds: band-limited to 8 kHz, back at 16 kHz."""
    return _floats(resample(spoken(text, 8000), 16000) + AudioChunk.silence(0.15, 16000))


@pytest.mark.parametrize(
    "text",
    ["Can I book a cleaning for Tuesday?", "My number is five five five, zero one four two."],
)
def test_the_short_window_hears_what_the_full_window_hears(
    stt: WhisperSpeechToText, text: str
) -> None:
    full = WhisperSpeechToText(stt.model, window_s=FULL_WINDOW_S)
    samples = _phone(text)
    assert stt.transcribe_blocking(samples) == full.transcribe_blocking(samples)


def test_a_window_so_short_the_model_repeats_itself_is_done_again_on_the_full_one(
    stt: WhisperSpeechToText,
) -> None:
    cramped = WhisperSpeechToText(stt.model, window_s=1)
    samples = _phone("Can you hear me?")
    text = cramped.transcribe_blocking(samples)
    assert cramped.full_window_retries == 1
    assert text.lower().count("hear me") == 1, text


def test_a_long_utterance_is_transcribed_on_the_full_window(stt: WhisperSpeechToText) -> None:
    long_turn = (
        "I would like to book a cleaning on Tuesday morning, if you have anything free. "
        "My daughter also needs a check-up, she is seven, and she gets nervous at the dentist. "
        "We live quite far away, so a morning appointment would suit us best, around nine. "
        "If Tuesday does not work, Thursday is fine too, but not Friday, because of school. "
        "Oh, and my husband asked whether you take his insurance, the one from his work. "
        "He also wants to know how much a filling costs without it, just in case. "
        "Sorry for all the questions, it has been a long week and I wanted to sort it out."
    )
    samples = _phone(long_turn)
    assert len(samples) / 16000 > FULL_WINDOW_S - 3, "longer than the longest short window"
    words = stt.transcribe_blocking(samples).lower()
    assert all(w in words for w in ("cleaning", "tuesday", "thursday", "insurance")), words


def test_noise_without_speech_gives_no_words(stt: WhisperSpeechToText) -> None:
    hiss = np.random.default_rng(7).normal(0, 0.003, 16000).astype(np.float32)
    assert stt.transcribe_blocking(hiss) == ""


def test_an_impossible_window_is_refused(stt: WhisperSpeechToText) -> None:
    with pytest.raises(ValueError, match="window_s must be 1-30 s, got 31"):
        WhisperSpeechToText(stt.model, window_s=31)


@pytest.mark.parametrize(
    ("text", "repeating"),
    [
        ("Can you hear me? Can you hear me?", True),
        ("Yes. Yes. Yes.", True),
        ("I need the car by Friday, by Friday.", True),
        ("No, no.", False),
        ("Can you hear me?", False),
        ("My card ends in 4 4 1 2.", False),
        ("", False),
    ],
)
def test_a_transcript_that_ends_saying_itself_again_is_a_loop(text: str, repeating: bool) -> None:
    assert ends_repeating(text) is repeating


def test_a_transcription_holds_the_foreground_while_it_runs(stt: WhisperSpeechToText) -> None:
    foreground = Foreground()
    seen: list[bool] = []
    recorder = WhisperSpeechToText(stt.model, foreground=foreground)
    original = recorder._transcribe_now

    def observed(samples: np.ndarray) -> str:
        seen.append(foreground.busy)
        return original(samples)

    recorder._transcribe_now = observed  # type: ignore[method-assign]
    recorder.transcribe_blocking(_phone("Are you open on Saturday?"))
    assert seen == [True]
    assert not foreground.busy
