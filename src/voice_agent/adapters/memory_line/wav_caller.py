"""A recorded caller: a WAV file's utterances played into the line one at a time, each after
the agent has answered the previous one (or greeted), then a hang-up.

It is the in-memory line (`InMemoryCallTransport`) with the scripted caller's tone replaced
by the recording, so the agent's side is paced and recorded the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voice_agent.adapters.audio.signal import resample
from voice_agent.adapters.memory_line.caller import CallerAction, CallerScript
from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.domain.audio import AudioChunk

RATE = 16000


class WavCallerTransport(InMemoryCallTransport):
    def __init__(
        self,
        utterances: Sequence[AudioChunk],
        *,
        pause_after_reply_s: float = 0.8,
        frame_s: float = 0.02,
        keep_played_audio: bool = True,
    ) -> None:
        self._utterances = [resample(u, RATE) for u in utterances]
        script = CallerScript(
            [
                *(
                    CallerAction("say", duration_s=u.duration, seconds=pause_after_reply_s)
                    for u in self._utterances
                ),
                CallerAction("hang_up", seconds=pause_after_reply_s),
            ]
        )
        super().__init__(
            script,
            caller_number=None,
            input_sample_rate=RATE,
            output_sample_rate=RATE,
            frame_s=frame_s,
            keep_played_audio=keep_played_audio,
        )
        self._spoken = 0
        self._current = b""
        self._frame_bytes = int(frame_s * RATE) * 2

    def caller_speaks(self, duration_s: float) -> None:
        self._current = self._utterances[self._spoken].pcm
        self._spoken += 1
        super().caller_speaks(duration_s)

    def _caller_frame(self, *, speaking: bool) -> AudioChunk:
        if not speaking or not self._current:
            return AudioChunk(bytes(self._frame_bytes), RATE)
        piece, self._current = (
            self._current[: self._frame_bytes],
            self._current[self._frame_bytes :],
        )
        return AudioChunk(piece.ljust(self._frame_bytes, b"\0"), RATE)

    def agent_audio(self) -> AudioChunk:
        """Everything the agent played, on the call's timeline (silence between replies)."""
        if not self.record.played:
            return AudioChunk(b"", RATE)
        start = self.record.played[0][0]
        end = self.record.played[-1][0] + self.record.played[-1][1].duration
        track = np.zeros(int((end - start) * RATE) + RATE // 10, dtype=np.int16)
        for at, chunk in self.record.played:
            samples = np.frombuffer(chunk.pcm, dtype="<i2")
            offset = int((at - start) * RATE)
            track[offset : offset + len(samples)] = samples[: len(track) - offset]
        return AudioChunk(track.astype("<i2").tobytes(), RATE)
