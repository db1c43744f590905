"""`voice-agent call CALLER.wav`: a recorded caller talks to the agent on the local stack, in
real time (the models need real time to think)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dependency_injector import providers

from voice_agent.adapters.audio.wav import read_wav, split_utterances
from voice_agent.adapters.memory_line.wav_caller import RATE, WavCallerTransport
from voice_agent.application.call_runner import CallRunner
from voice_agent.application.ports.observer import EventSink
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import Call
from voice_agent.entrypoints.bootstrap.container import Container, memory_store
from voice_agent.entrypoints.bootstrap.settings import StackName
from voice_agent.entrypoints.bootstrap.stack import StackChoice


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


def file_call_container(container: Container, *, store: bool) -> Container:
    """`container` set for a recorded caller: the local stack at the recording's rate, the
    call kept in memory unless `store` (then in DATABASE_URL)."""
    container.stack_choice.override(
        providers.Object(StackChoice(StackName.LOCAL, "a recorded caller runs on the local stack"))
    )
    container.sample_rate.override(providers.Object(RATE))
    if not store:
        container.call_store.override(providers.Resource(memory_store))
    return container


async def run_file_call(
    utterances: Sequence[AudioChunk], runner: CallRunner, sinks: Sequence[EventSink] = ()
) -> FileCall:
    """The recorded caller's call, run by `runner` (on the local stack, in real time)."""
    transport = WavCallerTransport(utterances)
    call = await runner.run(transport, sinks)
    if call is None:
        raise RuntimeError("the call could not be set up (see the log)")
    return FileCall(call, transport)
