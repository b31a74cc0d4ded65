"""A cache prior: token n-gram counts of the document and its context, mixed into the logits.

The cache (Tu et al., FSE 2014; Hellendoorn & Devanbu, FSE 2017) counts, for every context of
1 … ``order - 1`` token ids, which token followed it in the texts given. For a slot whose
committed left context is ``c``, the prior over the vocabulary ``V`` is the interpolation

    P(t | c) = λ · P_cache(t | c) + (1 − λ) / |V|,
    P_cache(t | c) = Σ_k w_k · count(c_k, t) / count(c_k)     (c_k: the last k ids of c),

with ``w_k`` proportional to ``k`` over the orders whose context was seen. The processor adds
``weight · log P(t | c)`` to the slot's logits. Adding the same constant to every token of a row
does not change its softmax, so only the tokens the cache has seen are touched: they get
``weight · log(1 + λ · P_cache · |V| / (1 − λ))``. A weight of 0 changes nothing.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence


class NgramCache:
    """Token n-gram counts: context (tuple of ids) → Counter of the next id."""

    def __init__(self, order: int = 3) -> None:
        if order < 2:
            raise ValueError(f"NgramCache order must be ≥ 2 (a context of ≥ 1 token), "
                             f"got {order}")
        self.order = order
        self.counts: defaultdict[tuple[int, ...], Counter[int]] = defaultdict(Counter)

    @classmethod
    def of_texts(cls, texts: Iterable[str], encode: Callable[[str], Sequence[int]],
                 order: int = 3) -> NgramCache:
        cache = cls(order)
        for text in texts:
            cache.add(encode(text))
        return cache

    def add(self, ids: Sequence[int]) -> None:
        ids = [int(i) for i in ids]
        for position in range(1, len(ids)):
            for k in range(1, self.order):
                if position - k < 0:
                    break
                self.counts[tuple(ids[position - k: position])][ids[position]] += 1

    def distribution(self, context: Sequence[int]) -> dict[int, float]:
        """P_cache(· | context) over the ids seen after it (empty if no order was seen)."""
        mixed: dict[int, float] = {}
        seen = []
        for k in range(1, self.order):
            if len(context) < k:
                break
            counter = self.counts.get(tuple(int(i) for i in context[-k:]))
            if counter:
                seen.append((k, counter))
        total_weight = sum(k for k, _ in seen)
        for k, counter in seen:
            total = sum(counter.values())
            for token, count in counter.items():
                mixed[token] = mixed.get(token, 0.0) + (k / total_weight) * count / total
        return mixed

    def __len__(self) -> int:
        return len(self.counts)


class CachePriorProcessor:
    """Adds ``weight · log P(t | c)`` to each row of ``(N, V)`` logits, row ``i`` having the
    committed left context ``contexts[i]`` (the ids right before that masked slot; empty when
    its left neighbour is still masked). Same call shape as the engine's logit processors."""

    def __init__(self, cache: NgramCache, contexts: Sequence[Sequence[int]],
                 weight: float, mix: float = 0.5) -> None:
        if not weight >= 0:
            raise ValueError(f"cache prior weight must be ≥ 0 (0 is off), got {weight}")
        if not 0 < mix < 1:
            raise ValueError(f"cache prior mix λ must be in (0, 1), got {mix}")
        self.cache, self.contexts = cache, [list(c) for c in contexts]
        self.weight, self.mix = float(weight), float(mix)

    def boosts(self, row: int, vocab_size: int) -> dict[int, float]:
        """What row ``row`` gets added, token by token (up to a per-row constant)."""
        scale = self.mix * vocab_size / (1 - self.mix)
        return {token: self.weight * math.log1p(scale * p)
                for token, p in self.cache.distribution(self.contexts[row]).items()
                if token < vocab_size}

    def __call__(self, logits):
        if self.weight == 0:
            return logits
        if logits.shape[0] != len(self.contexts):
            raise ValueError(f"cache prior has {len(self.contexts)} slot contexts but the "
                             f"logits have {logits.shape[0]} rows")
        for row in range(logits.shape[0]):
            boosts = self.boosts(row, logits.shape[-1])
            if boosts:
                ids = list(boosts)
                logits[row, ids] = logits[row, ids] + logits.new_tensor(list(boosts.values()))
        return logits


def slot_contexts(ids: Sequence[int], positions: Sequence[int], mask_id: int,
                  order: int = 3) -> list[list[int]]:
    """For each masked ``position`` of ``ids``, the up to ``order - 1`` committed ids right
    before it (stopping at a mask)."""
    contexts = []
    for position in positions:
        context: list[int] = []
        cursor = position - 1
        while cursor >= 0 and len(context) < order - 1 and ids[cursor] != mask_id:
            context.insert(0, int(ids[cursor]))
            cursor -= 1
        contexts.append(context)
    return contexts
