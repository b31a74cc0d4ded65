"""The copy head: a pointer distribution over the window's visible tokens, mixed with the
vocabulary distribution by a learned gate (pointer-generator networks, as used for code
completion by Li et al., IJCAI 2018).

From the final hidden states ``h``: a query ``q_i = W_q h_i`` at each predicted position and a
key ``k_j = W_k h_j`` at every column; the attention ``a_ij`` runs over the window's visible
columns (not ``[MASK]``, not ``[PAD]``, not padding, ``j ≠ i``), and ``p_copy(v) = Σ_j a_ij
[x_j = v]``. The gate ``g_i = sigmoid(w·h_i + b)`` mixes the two:
``p(v) = g·p_copy(v) + (1 − g)·softmax(logits)(v)``. Its log is returned as the logits, so the
samplers, the length control and the rewards read it like any model's logits. A position whose
window has no visible column gets ``g = 0`` (the vocabulary distribution alone).

The gate's bias starts at :data:`GATE_BIAS` (g ≈ 0.02) and its weight at zero, so a warm start
adds the head without changing what the model predicts by more than ``log(1 − g)``.

``config.json`` switches it on with ``"copy_head": {"key_dim": 64, "mask_token_id": 1}``; its
weights are ``copy_head.*`` in the model's safetensors file. The computations run in float32
whatever the model's precision (the mixture's logs need the range).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from code_diffusion.engine.errors import ModelLoadError

CONFIG_KEY = "copy_head"
GATE_BIAS = -4.0
_FLOOR = 1e-30
"""Smallest copy probability whose log the training loss takes (a target absent from the
window has probability 0 under the copy distribution)."""


@dataclass(frozen=True)
class CopyHeadConfig:
    key_dim: int
    mask_token_id: int
    pad_token_id: int | None

    def to_json(self) -> dict[str, int]:
        return {"key_dim": self.key_dim, "mask_token_id": self.mask_token_id}

    @classmethod
    def from_json(cls, config: dict[str, Any], where: str = "config.json"
                  ) -> CopyHeadConfig | None:
        """The ``copy_head`` entry of a model config, or ``None`` when it has none."""
        entry = config.get(CONFIG_KEY)
        if entry is None:
            return None
        if (not isinstance(entry, dict)
                or not all(isinstance(entry.get(k), int) for k in ("key_dim", "mask_token_id"))
                or entry["key_dim"] <= 0):
            raise ModelLoadError(f"{where}: {CONFIG_KEY!r} is {entry!r}; it must be an object "
                                 "with a positive integer 'key_dim' and the integer "
                                 "'mask_token_id' (as code-diffusion train --copy-head writes)")
        pad = config.get("pad_token_id")
        return cls(int(entry["key_dim"]), int(entry["mask_token_id"]),
                   None if pad is None else int(pad))


def refuse_in_transformers(config: dict[str, Any], where: str) -> None:
    """Transformers' classes do not implement the copy head and would drop its weights with a
    warning: a checkpoint that has one loads only with the built-in encoder."""
    if config.get(CONFIG_KEY) is not None:
        raise ModelLoadError(
            f"{where} has a copy head ({CONFIG_KEY!r} in config.json), which transformers' "
            f"{', '.join(config.get('architectures') or ['model class'])} does not implement: "
            "loading it there would silently drop the head. Load it as code-diffusion's own "
            "model: the directory needs code_diffusion.json and model.safetensors (as "
            "code-diffusion train --export-only writes them)")


class CopyHead(nn.Module):
    """``query``, ``key`` (``hidden → key_dim``, no bias) and ``gate`` (``hidden → 1``)."""

    def __init__(self, hidden_size: int, config: CopyHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.query = nn.Linear(hidden_size, config.key_dim, bias=False)
        self.key = nn.Linear(hidden_size, config.key_dim, bias=False)
        self.gate = nn.Linear(hidden_size, 1)

    def reset_parameters(self, std: float = 0.02) -> None:
        """The warm-start initialisation: small random query and key, gate nearly shut."""
        nn.init.normal_(self.query.weight, std=std)
        nn.init.normal_(self.key.weight, std=std)
        nn.init.zeros_(self.gate.weight)
        nn.init.constant_(self.gate.bias, GATE_BIAS)

    def keys(self, hidden: torch.Tensor) -> torch.Tensor:
        """Float32 keys ``(B, L, key_dim)`` of hidden states ``(B, L, H)``."""
        return functional.linear(hidden.float(), self.key.weight.float())

    def visible(self, ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """``(B, L)`` True at the columns a position may copy from."""
        seen = ids != self.config.mask_token_id
        if self.config.pad_token_id is not None:
            seen &= ids != self.config.pad_token_id
        if attention_mask is not None:
            seen &= attention_mask.to(device=ids.device, dtype=torch.bool)
        return seen

    def attend(self, hidden: torch.Tensor, keys: torch.Tensor, visible: torch.Tensor,
               where: torch.Tensor, start: int = 0
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the ``True`` positions of ``where`` ``(B, W)`` among the hidden states
        ``(B, W, H)`` of columns ``[start, start + W)``: the copy attention ``(N, L)`` over
        the columns of ``keys`` ``(B, L, d)``, the gate's log ``(log g, log(1 − g))``, each
        ``(N,)``, with ``g = 0`` where no column is visible."""
        h = hidden.float()
        width, length = h.shape[1], keys.shape[1]
        q = functional.linear(h, self.query.weight.float())
        scores = torch.matmul(q, keys.transpose(1, 2)) * self.config.key_dim ** -0.5
        own = (torch.arange(start, start + width, device=h.device)[:, None]
               == torch.arange(length, device=h.device)[None, :])
        allowed = (visible[:, None, :] & ~own[None])[where]  # (N, L)
        attention = functional.softmax(scores[where].masked_fill(~allowed, -1e30), dim=-1)
        attention = attention * allowed  # a row with nothing allowed: all zero, not uniform
        z = functional.linear(h[where], self.gate.weight.float(), self.gate.bias.float())[:, 0]
        anything = allowed.any(dim=-1)
        shut = torch.full_like(z, float("-inf"))
        log_gate = torch.where(anything, functional.logsigmoid(z), shut)
        log_rest = torch.where(anything, functional.logsigmoid(-z), torch.zeros_like(z))
        return attention, log_gate, log_rest

    def mix(self, logits: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor,
            log_gate: torch.Tensor, log_rest: torch.Tensor, where: torch.Tensor
            ) -> torch.Tensor:
        """``log(g·p_copy + (1 − g)·softmax(logits))`` ``(N, V)``: the mixed distribution's
        log-probabilities, used as the logits (``ids``: the ``(B, L)`` window)."""
        tokens = ids[where.nonzero()[:, 0]]  # (N, L): each position's window
        copy = torch.zeros_like(logits, dtype=torch.float32).scatter_add_(1, tokens, attention)
        out = functional.log_softmax(logits.float(), dim=-1) + log_rest[:, None]
        # Only the window's tokens change: mix at those columns (a token seen twice gets the
        # same value twice), not over the whole vocabulary (log and logaddexp of V columns
        # would cost more than the head's attention).
        total = copy.gather(1, tokens)
        mixed = torch.logaddexp(out.gather(1, tokens), log_gate[:, None] + total.log())
        return out.scatter_(1, tokens, mixed)

    def target_log_probs(self, logits: torch.Tensor, ids: torch.Tensor, targets: torch.Tensor,
                         attention: torch.Tensor, log_gate: torch.Tensor,
                         log_rest: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """The mixed distribution's log-probability ``(N,)`` of each position's target, for
        the training loss (no ``(N, V)`` copy table; finite gradients when the target is not
        in the window)."""
        rows = where.nonzero()[:, 0]
        copy = (attention * (ids[rows] == targets[:, None])).sum(dim=-1)
        vocab = functional.log_softmax(logits.float(), dim=-1).gather(1, targets[:, None])[:, 0]
        return torch.logaddexp(vocab + log_rest,
                               log_gate + copy.clamp_min(_FLOOR).log())


def build_copy_head(hidden_size: int, config: dict[str, Any], where: str = "config.json"
                    ) -> CopyHead | None:
    """The head a model config asks for (fresh weights), or ``None``."""
    head_config = CopyHeadConfig.from_json(config, where)
    return None if head_config is None else CopyHead(hidden_size, head_config)
