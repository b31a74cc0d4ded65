"""The cost of one forward pass, step by step through the optimisations the sampler uses.

Each configuration runs the same canvas (a few rows of the model's window with a hole of
masked slots) and is timed as the median of several passes, on one thread and on all cores:

1. transformers' forward with logits at every position (what a naive sampler runs);
2. the same encoder, projecting to the vocabulary only at the masked positions;
3. the engine's lean encoder path (no attention masks, rotary tables cached);
4. a block pass: only the hole's columns, against the kept keys and values of the context;
5. and 6.: 3 and 4 with bfloat16 weights.

:func:`compiled_cost` times 3 under ``torch.compile`` after its warm-up, with what the warm-up
and a canvas of another length cost, to decide whether the server should compile.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import torch

from code_diffusion.engine.diffusion import torch_threads
from code_diffusion.measure import median

HOLE = 24


def median_ms(run: Callable[[], Any], repeats: int) -> float:
    """Median milliseconds of ``repeats`` calls of ``run``, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return round(median(times), 2)


def _canvas(denoiser: Any, rows: int, length: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(8, len(denoiser.tokenizer), (rows, length), generator=generator)
    start = length - HOLE - 16
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[:, start : start + HOLE] = True
    ids[where] = denoiser.ids.mask
    return ids, where, start


def configurations(model: Any, bf16: Any | None, rows: int, length: int
                   ) -> list[tuple[str, Callable[[], Any]]]:
    from code_diffusion.engine.adapters.masked_lm import (
        BlockCache,
        has_positional_head,
        head_logits,
    )

    denoiser = model.denoiser
    ids, where, start = _canvas(denoiser, rows, length)
    hf = denoiser.model
    out: list[tuple[str, Callable[[], Any]]] = [
        ("transformers forward, logits at every position",
         lambda: hf(input_ids=ids).logits),
    ]
    if has_positional_head(hf):
        out.append(("logits only at the masked positions",
                    lambda: head_logits(hf, ids, where)))
    out.append(("lean encoder path, masked positions only",
                lambda: denoiser.logits_at(ids, where)))
    if getattr(denoiser, "supports_block_cache", False):
        cache = BlockCache(start, start + HOLE)
        denoiser.cached_logits_at(ids, where, cache)
        out.append(("block pass: the hole's columns against kept keys and values",
                    lambda: denoiser.cached_logits_at(ids, where, cache)))
    if bf16 is not None:
        low = bf16.denoiser
        out.append(("lean path, bfloat16 weights", lambda: low.logits_at(ids, where)))
        if getattr(low, "supports_block_cache", False):
            low_cache = BlockCache(start, start + HOLE)
            low.cached_logits_at(ids, where, low_cache)
            out.append(("block pass, bfloat16 weights",
                        lambda: low.cached_logits_at(ids, where, low_cache)))
    return out


def pass_costs(model: Any, bf16: Any | None = None, *, rows: int = 3,
               repeats: int = 15) -> dict[str, Any]:
    """Median ms per pass of each configuration on one thread and on every core."""
    length = int(model.info.max_context or 256)
    cores = os.cpu_count() or 1
    rows_out = []
    with torch.inference_mode():
        for label, run in configurations(model, bf16, rows, length):
            row: dict[str, Any] = {"configuration": label}
            for threads in sorted({1, cores}):
                with torch_threads(threads):
                    row[f"threads_{threads}_ms"] = median_ms(run, repeats)
            rows_out.append(row)
    return {"rows": rows, "tokens": length, "masked": HOLE, "cores": cores,
            "passes": rows_out}


def compiled_cost(model: Any, *, rows: int = 3, repeats: int = 15) -> dict[str, Any]:
    """The lean path under ``torch.compile(dynamic=True)`` against eager, on every core: the
    first call (compilation), the median after it, and the first call on a canvas 32 tokens
    shorter (a recompilation, if the shapes are not general enough)."""
    denoiser = model.denoiser
    length = int(model.info.max_context or 256)
    ids, where, _ = _canvas(denoiser, rows, length)
    short_ids, short_where, _ = _canvas(denoiser, rows, length - 32)
    out: dict[str, Any] = {"rows": rows, "tokens": length}
    try:
        compiled = torch.compile(denoiser.logits_at, dynamic=True)
        with torch.inference_mode():
            out["eager_ms"] = median_ms(lambda: denoiser.logits_at(ids, where), repeats)
            began = time.perf_counter()
            compiled(ids, where)
            out["first_call_s"] = round(time.perf_counter() - began, 2)
            out["compiled_ms"] = median_ms(lambda: compiled(ids, where), repeats)
            began = time.perf_counter()
            compiled(short_ids, short_where)
            out["other_length_first_call_ms"] = round((time.perf_counter() - began) * 1000, 1)
    except Exception as exc:  # no compiler, an unsupported op: say so in the report
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return out
