"""A repetition penalty inside the hole, for small models that loop (``x, x, x, x``).

A small denoiser fills a hole's slots largely independently, and where it is unsure the same
confident token wins many slots: ``None, None, None`` or ``x, x, x, x``. The penalty lowers the
logits of a word token in a slot once the hole already holds it ``free`` times (default 2) or
more, more for each further time (CTRL's penalty, applied per repeat: a positive logit is divided by
``penalty ** repeats``, a negative one multiplied). Tokens with no letter or digit (commas,
brackets, operators, line breaks, indentation) are exempt: code repeats its punctuation.

It has the call shape of the processors of ``engine/sampling.py``: ``(N, V)`` logits in, one
row per masked slot in row-major order over the canvas's rows, and is built for one step from
the canvas's committed tokens (:meth:`HoleRepetitionPenalty.for_canvas`), as the cache prior is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import torch

from code_diffusion.engine.errors import InvalidRequestError
from code_diffusion.engine.sampling import LogitsProcessor


def hole_words(denoiser) -> frozenset[int]:
    """:func:`word_tokens` of a denoiser's tokenizer without its special tokens, computed once
    per denoiser (kept in ``denoiser.extra``, as ``canvas.line_end_tokens`` is)."""
    cached = denoiser.extra.get("word_tokens")
    if cached is None:
        ids = denoiser.ids
        cached = word_tokens(denoiser.decode, len(denoiser.tokenizer),
                             (ids.pad, ids.eos, ids.bos, ids.mask))
        denoiser.extra["word_tokens"] = cached
    return cached


def word_tokens(decode: Callable[[list[int]], str], vocab_size: int,
                special: Iterable[int | None] = ()) -> frozenset[int]:
    """Ids of the tokens whose text holds a letter or digit (the ones the penalty may touch),
    without the ``special`` ones (``[PAD]``, ``[EOS]``: the length control must stay free)."""
    skip = {t for t in special if t is not None}
    return frozenset(i for i in range(vocab_size)
                     if i not in skip and any(c.isalnum() for c in decode([i])))


class HoleRepetitionPenalty(LogitsProcessor):
    """Penalise word tokens the hole already holds ``free`` times or more.

    ``hole_tokens[i]`` lists the tokens committed in the hole of the row that masked slot ``i``
    (the ``i``-th logits row) belongs to; ``None`` and ids outside ``words`` are ignored.
    """

    def __init__(self, hole_tokens: Sequence[Sequence[int | None]], words: Iterable[int],
                 penalty: float = 1.5, free: int = 2) -> None:
        if isinstance(penalty, bool) or not isinstance(penalty, int | float) or penalty < 1:
            raise InvalidRequestError("repetition_penalty", f"repetition_penalty must be a "
                                      f"number ≥ 1 (1 is off), got {penalty!r}")
        if isinstance(free, bool) or not isinstance(free, int) or free < 1:
            raise InvalidRequestError("repetition_free", f"repetition_free must be an integer "
                                      f"≥ 1, got {free!r}")
        self.penalty, self.free = float(penalty), free
        self.words = frozenset(words)
        self.hole_tokens = [list(tokens) for tokens in hole_tokens]

    @classmethod
    def for_canvas(cls, canvas, words: Iterable[int], penalty: float = 1.5,
                   free: int = 2) -> HoleRepetitionPenalty:
        """For this step of ``canvas`` (an ``engine.canvas.Canvas``): each masked slot sees the
        tokens committed in its own row's hole."""
        per_slot: list[list[int | None]] = []
        for row, count in enumerate(canvas.masked_counts()):
            committed = canvas.slot_tokens(row)
            per_slot.extend([committed] * count)
        return cls(per_slot, words, penalty, free)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] != len(self.hole_tokens):
            raise ValueError(f"HoleRepetitionPenalty was built for {len(self.hole_tokens)} "
                             f"masked slots but got {logits.shape[0]} logits rows; build it "
                             "for this step's canvas")
        if self.penalty == 1.0:
            return logits
        cache: dict[int, tuple[list[int], torch.Tensor] | None] = {}
        for row, tokens in enumerate(self.hole_tokens):
            key = id(tokens)
            if key not in cache:
                cache[key] = self._factors(tokens)
            found = cache[key]
            if found is None:
                continue
            ids, factor = found
            factor = factor.to(logits)  # the logits' dtype and device
            values = logits[row, ids]
            logits[row, ids] = torch.where(values > 0, values / factor, values * factor)
        return logits

    def _factors(self, tokens: Sequence[int | None]) -> tuple[list[int], torch.Tensor] | None:
        counts = Counter(t for t in tokens if t is not None and t in self.words)
        repeated = {t: n - self.free + 1 for t, n in counts.items() if n >= self.free}
        if not repeated:
            return None
        ids = sorted(repeated)
        factor = torch.tensor([self.penalty ** repeated[t] for t in ids])
        return ids, factor
