"""`voice-agent call CALLER.wav`: a recorded caller talks to the agent on the local stack, in
real time (the models need real time to think)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voice_agent.adapters.audio.wav import read_wav, split_utterances
from voice_agent.adapters.memory_line.wav_caller import WavCallerTransport
from voice_agent.application.ports.observer import EventSink
from voice_agent.application.ports.repository import CallRepository
from voice_agent.application.session.call_session import CallSession
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import Call
from voice_agent.entrypoints.bootstrap.local_stack import LocalModels


@dataclass(slots=True)
class FileCall:
    call: Call
    transport: WavCallerTransport


class NoSpeechInFile(ValueError):
    pass


def caller_utterances(wav: Path) -> list[AudioChunk]:
    """The recording cut at its pauses; raises `BadWavFile` or `NoSpeechInFile` (checked
    before any model is loaded)."""
    utterances = split_utterances(read_wav(wav, 16000))
    if not utterances:
        raise NoSpeechInFile(f"{wav}: no speech found (is it silent?)")
    return utterances


async def run_file_call(
    utterances: Sequence[AudioChunk],
    models: LocalModels,
    config: SessionConfig,
    repository: CallRepository,
    sinks: tuple[EventSink, ...] = (),
) -> FileCall:
    transport = WavCallerTransport(utterances)
    config = models.tune(config)
    await models.warm(config, transport.output_sample_rate)
    session = CallSession(transport, models.ports_factory(repository, sinks), config)
    try:
        call = await session.run()
    finally:
        await transport.aclose()
    return FileCall(call, transport)
