"""The contract every `VoiceActivityDetector` passes: subclass and provide `vad` and
`speech` (about 1-3 s of voice, 16 kHz, no leading or trailing silence)."""

from __future__ import annotations

import pytest

from voice_agent.application.ports.vad import (
    VadEvent,
    VoiceActivityDetector,
    VoiceEnded,
    VoiceStarted,
)
from voice_agent.domain.audio import AudioChunk


def _run(vad: VoiceActivityDetector, audio: AudioChunk, frame_s: float) -> list[VadEvent]:
    session = vad.open_session(audio.sample_rate)
    events: list[VadEvent] = []
    for frame in audio.split(frame_s):
        events.extend(session.push(frame))
    return events


class VoiceActivityDetectorContract:
    def test_silence_is_not_voice(self, vad: VoiceActivityDetector) -> None:
        assert _run(vad, AudioChunk.silence(2.0, 16000), 0.02) == []

    @pytest.mark.parametrize("frame_s", [0.01, 0.02, 0.032])
    def test_speech_then_silence_starts_and_ends_voice_once(
        self, vad: VoiceActivityDetector, speech: AudioChunk, frame_s: float
    ) -> None:
        audio = AudioChunk.silence(0.5, 16000) + speech + AudioChunk.silence(1.5, 16000)
        events = _run(vad, audio, frame_s)
        assert [type(e) for e in events] == [VoiceStarted, VoiceEnded]
        ended = events[1]
        assert isinstance(ended, VoiceEnded)
        assert ended.ago >= 0
        assert abs(ended.speech_duration - speech.duration) < 0.5
