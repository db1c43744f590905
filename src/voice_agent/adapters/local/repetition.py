"""Logit penalties that keep SmolLM2-135M from repeating itself across a call's turns and from
saying what a receptionist never says.

llama.cpp's repeat, frequency and presence penalties only see the tokens generated in the
current reply, so they cannot stop the model from copying its previous answer out of the
prompt (asked "What about a filling?" and then "And whitening?", it gave the same 40 words
twice). `EchoPenalty` applies the DRY rule ("don't repeat yourself": the longer the run of
tokens the reply has copied from an earlier answer, the harder the token that would extend
it is pushed down) to the call's earlier answers: a shared phrase ("Maple Street Dental")
costs little, a copied sentence a lot. It also bans outright the last token of a few phrases
that are always wrong on this line (a condolence after "I lost a filling").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NEVER_SAY = ("sorry for your", "sorry for the loss", "condolences", "as an AI", "language model")
"""Phrases the agent must not say: each phrase's last token is banned once the reply ends
with the rest of it (matched on tokens with and without a leading space)."""


@dataclass(frozen=True, slots=True)
class EchoSettings:
    multiplier: float = 0.8
    """Penalty (in logits) on a token extending a copied run of `allowed_tokens`; 0: off."""
    base: float = 1.75
    """Each further copied token multiplies the penalty by this."""
    allowed_tokens: int = 2
    """A copied run this short is free (names, "we are", "8 am")."""


class EchoPenalty:
    """A llama-cpp-python logits processor for one reply: `earlier` are the token ids of the
    call's earlier answers, `banned` the token ids of `NEVER_SAY`, `prompt_tokens` the length
    of the prompt (what follows it in `input_ids` is the reply so far)."""

    def __init__(
        self,
        earlier: Sequence[Sequence[int]],
        banned: Sequence[Sequence[int]],
        prompt_tokens: int,
        settings: EchoSettings,
    ) -> None:
        self._earlier = [list(e) for e in earlier if e]
        self._banned = [list(b) for b in banned if b]
        self._prompt_tokens = prompt_tokens
        self._settings = settings

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        reply = [int(t) for t in input_ids[self._prompt_tokens :]]
        for token, penalty in self.penalties(reply).items():
            scores[token] -= penalty
        return scores

    def penalties(self, reply: Sequence[int]) -> dict[int, float]:
        """Token id -> logit penalty for the next token after `reply`."""
        found: dict[int, float] = {}
        for phrase in self._banned:
            head, last = phrase[:-1], phrase[-1]
            if len(reply) >= len(head) and list(reply[len(reply) - len(head) :]) == head:
                found[last] = float("inf")
        s = self._settings
        if s.multiplier <= 0 or not reply:
            return found
        for answer in self._earlier:
            for end in range(1, len(answer)):
                run = _shared_suffix(reply, answer, end)
                if run >= s.allowed_tokens:
                    penalty = s.multiplier * s.base ** (run - s.allowed_tokens)
                    token = answer[end]
                    found[token] = max(found.get(token, 0.0), penalty)
        return found


def _shared_suffix(reply: Sequence[int], answer: Sequence[int], end: int) -> int:
    """How many tokens at the end of `reply` equal those of `answer` ending before `end`."""
    run = 0
    while run < len(reply) and run < end and reply[-1 - run] == answer[end - 1 - run]:
        run += 1
    return run
