"""The masked-diffusion objective, shaped like the editor's infill requests.

For each sequence a masking rate ``t`` is drawn. Half the batch masks tokens independently with
probability ``t``; the other half masks one contiguous span of about ``t·L`` tokens, as an infill
hole would. Some span rows get trailing ``[PAD]`` tokens inside the span, so the model learns to
leave unused hole slots empty: that is the length control the sampler relies on. The loss is
cross-entropy at masked positions weighted by ``1/t`` (the continuous-time ELBO of MDLM / LLaDA,
Eq. 3 of the LLaDA paper), summed and divided by ``B·L``.

Low masking rates are drawn more often than a uniform ``t`` would: in an editor the hole is a
small part of the window, and that regime is the one the model must get right first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from code_diffusion.engine.adapters.masked_lm import head_logits

PAD_ID, MASK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


@dataclass(frozen=True)
class MaskingConfig:
    """How training sequences are corrupted."""

    seq_len: int = 256
    t_min: float = 0.02
    """Smallest masking rate (also bounds the 1/t weight at 1/t_min)."""
    low_t_share: float = 0.5
    """Share of rows whose t is drawn from [t_min, low_t_max] instead of [t_min, 1]."""
    low_t_max: float = 0.3
    span_share: float = 0.5
    """Share of rows that mask one contiguous span instead of independent tokens."""
    pad_share: float = 0.5
    """Share of span rows that carry trailing [PAD] tokens inside the span."""
    max_pad: int = 24


@dataclass
class Batch:
    input_ids: torch.Tensor
    """(B, L) corrupted tokens."""
    masked: torch.Tensor
    """(B, L) bool: positions the loss is computed at."""
    targets: torch.Tensor
    """(B, L) original tokens (PAD inside padded spans)."""
    weights: torch.Tensor
    """(B,) the 1/t weight of each row."""
    attention: torch.Tensor | None = None
    """(B, L) bool: real tokens (False: padding after a window shorter than L); ``None``: all
    rows are full."""


def draw_t(rng: np.random.Generator, n: int, cfg: MaskingConfig) -> np.ndarray:
    """Per-row masking rates, stratified over the batch to reduce variance."""
    u = (np.arange(n) + rng.random(n)) / n
    rng.shuffle(u)
    low = rng.random(n) < cfg.low_t_share
    hi = np.where(low, cfg.low_t_max, 1.0)
    return cfg.t_min + (hi - cfg.t_min) * u


def make_batch(tokens: np.ndarray, batch_size: int, rng: np.random.Generator,
               cfg: MaskingConfig) -> Batch:
    """Cut ``batch_size`` random windows from ``tokens`` and corrupt them."""
    length = cfg.seq_len
    ids = np.empty((batch_size, length), dtype=np.int64)
    target = np.empty_like(ids)
    masked = np.zeros((batch_size, length), dtype=bool)
    ts = draw_t(rng, batch_size, cfg)
    for row, t in enumerate(ts):
        if rng.random() < cfg.span_share:
            pads = int(rng.integers(1, cfg.max_pad + 1)) if rng.random() < cfg.pad_share else 0
            window = _window(tokens, length - pads, rng)
            n = max(1, min(length - pads, round(t * (length - pads))))
            start = int(rng.integers(0, length - pads - n + 1))
            target[row] = np.concatenate(
                [window[: start + n], np.full(pads, PAD_ID), window[start + n :]])
            masked[row, start : start + n + pads] = True
        else:
            target[row] = _window(tokens, length, rng)
            masked[row] = rng.random(length) < t
            if not masked[row].any():
                masked[row, rng.integers(0, length)] = True
    ids[:] = np.where(masked, MASK_ID, target)
    return Batch(torch.from_numpy(ids), torch.from_numpy(masked), torch.from_numpy(target),
                 torch.from_numpy(1.0 / ts).float())


def _window(tokens: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    start = int(rng.integers(0, len(tokens) - length))
    return np.asarray(tokens[start : start + length], dtype=np.int64)


def masked_logits(model: torch.nn.Module, input_ids: torch.Tensor,
                  masked: torch.Tensor, attention: torch.Tensor | None = None) -> torch.Tensor:
    """Logits at the masked positions only, ``(N, V)``, with [MASK] never predicted.

    The masked-LM adapter applies the model's head only where needed when the architecture
    allows it (which saves most of the vocabulary projection). With ``attention`` (rows of
    different lengths padded to one tensor) the encoder does not attend to the padding.
    """
    if attention is None:
        logits = head_logits(model, input_ids, masked)
    else:
        hidden = model.model(input_ids=input_ids, attention_mask=attention.long())
        logits = model.decoder(model.head(hidden.last_hidden_state[masked]))
    logits[:, MASK_ID] = float("-inf")
    return logits


def copy_head_nll(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """NLL ``(N,)`` of the targets at the loss positions under a model with a copy head
    (``model.copy_head``, see ``engine/adapters/copy_head.py``): the mixture of the copy and
    vocabulary distributions."""
    attention = None if batch.attention is None else batch.attention.long()
    hidden = model.model(input_ids=batch.input_ids, attention_mask=attention).last_hidden_state
    where = batch.masked
    logits = model.decoder(model.head(hidden[where]))
    logits[:, MASK_ID] = float("-inf")
    head = model.copy_head
    visible = head.visible(batch.input_ids, batch.attention)
    copy, log_gate, log_rest = head.attend(hidden, head.keys(hidden), visible, where)
    return -head.target_log_probs(logits, batch.input_ids, batch.targets[where], copy,
                                  log_gate, log_rest, where)


def diffusion_loss(model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (weighted loss for the gradient, plain mean CE over masked tokens for logging)."""
    if getattr(model, "copy_head", None) is not None:
        ce = copy_head_nll(model, batch)
    else:
        logits = masked_logits(model, batch.input_ids, batch.masked, batch.attention)
        ce = torch.nn.functional.cross_entropy(logits.float(), batch.targets[batch.masked],
                                               reduction="none")
    row_weight = batch.weights[:, None].expand_as(batch.masked)[batch.masked]
    loss = (ce * row_weight).sum() / batch.masked.numel()
    return loss, ce.mean().detach()
