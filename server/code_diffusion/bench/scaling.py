"""How latency grows with the completion's length and with the context's size.

* Completion length: the hole's canvas is forced to 8, 16, 32 and 64 slots, all of which must
  hold real tokens (``length_control=False``), for the shipped default sampler (one candidate,
  to compare like with like) and for the one-token-per-step reference on the same requests.
* Context size: the cursor sits after 256, 512 and 1024 tokens of held-out prefix. The model's
  window is ``max_context`` tokens (256 for the embedded model): the canvas keeps the hole and
  the nearest context and drops the rest, so the figure reports the tokens the model actually
  saw next to the latency. Beside it, the time of one forward pass over the uncut length
  shows what a wider window would cost per pass (timing only; the embedded model was not
  trained on positions past its window).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from code_diffusion.bench.fills import SettingRunner
from code_diffusion.bench.samplers import REFERENCE, Setting
from code_diffusion.bench.workloads import Request
from code_diffusion.measure import median
from code_diffusion.measure import summary as stats

LENGTHS = (8, 16, 32, 64)
CONTEXTS = (256, 512, 1024)


def completion_length(runner: SettingRunner, requests: Sequence[Request], default: Setting,
                      reference: Setting) -> list[dict[str, Any]]:
    single = replace(default, params={**default.params, "num_samples": 1})
    rows = []
    for length in LENGTHS:
        row: dict[str, Any] = {"tokens": length}
        for setting in (single, reference):
            fills = []
            for request in requests:
                extra = {"length_control": False, "canvas_length": length,
                         "max_length": length}
                if setting.key == REFERENCE:
                    extra["steps"] = length
                fills.append(runner.fill(request, setting, hole="block", **extra))
            wall = stats([f.wall_ms for f in fills])
            passes = stats([f.forward_passes for f in fills])
            row[setting.key] = {"p50_ms": wall.get("p50"), "p95_ms": wall.get("p95"),
                                "forward_passes": passes.get("mean")}
        rows.append(row)
    return rows


def context_requests(requests: Sequence[Request], tokenizer: Any, size: int) -> list[Request]:
    """The requests with the prefix cut to its last ``size`` tokens (and a short suffix)."""
    out = []
    for request in requests:
        ids = tokenizer.encode(request.text[: request.start], add_special_tokens=False)
        if len(ids) < size:
            continue
        prefix = tokenizer.decode(ids[-size:], skip_special_tokens=False,
                                  clean_up_tokenization_spaces=False)
        suffix = request.text[request.end :][:400]
        out.append(replace(request, text=prefix + suffix, start=len(prefix), end=len(prefix)))
    return out


def window_tokens(model: Any, request: Request, params: dict[str, Any]) -> int:
    """Tokens in the canvas the model sees for ``request`` (context window plus hole)."""
    from code_diffusion.engine.canvas import build_canvas
    from code_diffusion.engine.options import SamplerOptions
    from code_diffusion.engine.types import GenerationRequest, PartialCode

    fields = {k: v for k, v in params.items() if k in GenerationRequest.field_names()}
    generation = GenerationRequest(
        language=request.language,
        partial_code=PartialCode(request.text[: request.start], request.text[request.end :]),
        **fields)
    template = build_canvas(model.denoiser, generation, SamplerOptions(kind=request.hole))
    layout = template.layout
    return len(layout.left) + max(layout.lengths) + len(layout.right)


def forward_ms(model: Any, length: int, repeats: int = 5) -> float:
    """Median time of one forward pass (hidden states and the masked positions' logits) over
    ``length`` tokens with 24 masked positions."""
    denoiser = model.denoiser
    ids = torch.randint(8, len(denoiser.tokenizer), (1, length))
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[:, length // 2 : length // 2 + 24] = True
    ids[where] = denoiser.ids.mask
    times = []
    with torch.inference_mode():
        denoiser.logits_at(ids, where)
        for _ in range(repeats):
            began = time.perf_counter()
            denoiser.logits_at(ids, where)
            times.append((time.perf_counter() - began) * 1000)
    return round(median(times), 2)


def context_size(runner: SettingRunner, requests: Sequence[Request], default: Setting,
                 tokenizer: Any) -> list[dict[str, Any]]:
    rows = []
    for size in CONTEXTS:
        chosen = context_requests(requests, tokenizer, size)
        fills = [runner.fill(r, default) for r in chosen]
        wall = stats([f.wall_ms for f in fills])
        seen = [window_tokens(runner.model, r, default.params_for(r.hole)) for r in chosen]
        rows.append({
            "prefix_tokens": size, "requests": len(chosen),
            "p50_ms": wall.get("p50"), "p95_ms": wall.get("p95"),
            "forward_passes": stats([f.forward_passes for f in fills]).get("mean"),
            "window_tokens": max(seen) if seen else None,
            "uncut_forward_ms": forward_ms(runner.model, size),
        })
    return rows
