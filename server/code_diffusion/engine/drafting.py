"""Drafts on the canvas: the denoiser judges given texts in the hole and edits them.

Used by :class:`~code_diffusion.engine.diffusion.CodeDiffusion` (``judge`` and ``edit``). A text
goes into the hole's slots as its tokens followed by ``[PAD]`` (the embedded model's length
control), on a canvas laid out exactly as for sampling (same preamble, prefix, suffix), one row
per text, in one forward pass:

* ``judge(..., mode="masked")``: every slot masked; each draft token's probability at its slot
  (the model's view of the hole before it writes anything);
* ``judge(..., mode="visible")``: the draft visible; each token's probability at its own slot
  (a pseudo-likelihood: the model sees the whole draft around each token);
* ``edit``: the draft visible, scored as in ``visible``; tokens under the threshold are masked
  again and denoised like any hole (draft-and-edit decoding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from code_diffusion.engine.adapters.base import Denoiser
from code_diffusion.engine.canvas import Canvas, build_canvas
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import GenerationRequest

JUDGE_MODES = ("masked", "visible")


def draft_canvas(denoiser: Denoiser, request: GenerationRequest, options: SamplerOptions,
                 texts: Sequence[str]) -> tuple[Canvas, list[list[int]]]:
    """A canvas with one row per text, its hole slots holding the text's tokens then
    ``[PAD]`` (``[MASK]`` where the model has no ``[PAD]``), and each text's token ids."""
    tokens = [denoiser.encode(text) for text in texts]
    width = max([len(t) for t in tokens] + [1]) + 1
    template = build_canvas(denoiser, replace(request, num_samples=len(texts), batch_size=max(
        1, len(texts))), replace(options, canvas_length=width, length_control=True))
    canvas = template.rows(list(range(len(texts))))
    filler = denoiser.ids.pad if denoiser.ids.pad is not None else denoiser.ids.mask
    for row, ids in enumerate(tokens):
        slots = ids + [filler] * (canvas.width - len(ids))
        canvas.ids[row, canvas.start: canvas.start + canvas.width] = torch.tensor(
            slots, dtype=torch.long, device=canvas.ids.device)
    return canvas, tokens


def token_probabilities(denoiser: Denoiser, canvas: Canvas, tokens: list[list[int]],
                        masked: bool) -> list[list[float]]:
    """Each text's token probabilities at its slots, in one pass (``masked``: the hole's slots
    masked first)."""
    ids = canvas.ids.clone()
    where = torch.zeros_like(ids, dtype=torch.bool)
    for row, row_tokens in enumerate(tokens):
        where[row, canvas.start: canvas.start + len(row_tokens)] = True
    if masked:
        ids[:, canvas.start: canvas.start + canvas.width] = denoiser.ids.mask
    if not bool(where.any()):
        return [[] for _ in tokens]
    probabilities = denoiser.logits_at(ids, where).softmax(-1)
    flat = [t for row_tokens in tokens for t in row_tokens]
    picked = probabilities[torch.arange(len(flat)), torch.tensor(flat)].tolist()
    out, offset = [], 0
    for row_tokens in tokens:
        out.append(picked[offset: offset + len(row_tokens)])
        offset += len(row_tokens)
    return out


def remask(canvas: Canvas, tokens: list[list[int]], probabilities: list[list[float]],
           threshold: float) -> list[int]:
    """Mask again each text's tokens under ``threshold``; the kept ones keep their probability
    as their confidence. Returns how many were masked in each row."""
    counts = []
    for row, row_probabilities in enumerate(probabilities):
        count = 0
        for index, probability in enumerate(row_probabilities):
            canvas.confidence[row, index] = probability
            if probability < threshold:
                canvas.ids[row, canvas.start + index] = canvas.denoiser.ids.mask
                count += 1
        counts.append(count)
    return counts
