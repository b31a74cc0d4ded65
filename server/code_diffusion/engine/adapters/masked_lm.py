"""Any transformers ``AutoModelForMaskedLM``: the embedded model, BERT, RoBERTa, ModernBERT.

Same-position logits, the mask id from the tokenizer. The fast path runs the encoder once and
projects to the vocabulary only at the positions asked for, which saves most of the output
layer's cost (the vocabulary projection dominates a small model's forward pass).

For ModernBERT with global attention in every layer (the embedded model) the encoder runs on a
lean path of our own: the same modules and the same algebra as transformers' forward, without
building attention masks (there is no padding) and with the rotary tables cached per length.
It also offers a **block cache** (Fast-dLLM's "dual cache", adapted to an encoder): one full
pass keeps every layer's keys and values; the next passes recompute only the hole's columns,
attending to the kept keys and values of the context on both sides. The context's states then
lag behind the hole's newest tokens until the cache is refreshed, so this is an approximation
whose quality cost is measured (``code-diffusion bench``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from code_diffusion.engine.adapters.base import Denoiser, SpecialIds, special_id
from code_diffusion.engine.errors import ModelLoadError

# class name -> (attribute of the encoder, function of the model that maps hidden -> logits)
_HEADS = {
    "ModernBertForMaskedLM": ("model", lambda m, h: m.decoder(m.head(h))),
    "BertForMaskedLM": ("bert", lambda m, h: m.cls(h)),
    "RobertaForMaskedLM": ("roberta", lambda m, h: m.lm_head(h)),
}


@dataclass
class BlockCache:
    """Keys and values of every layer from the last full pass, for the hole's columns
    ``[start, end)`` to be recomputed alone. ``refresh`` full passes come every that many
    passes (0: only the first pass is full)."""

    start: int
    end: int
    refresh: int = 0
    passes: int = 0
    layers: list[tuple[torch.Tensor, torch.Tensor]] | None = field(default=None, repr=False)
    full_passes: int = 0
    copy_keys: torch.Tensor | None = field(default=None, repr=False)
    """A copy head's keys of every column from the last full pass, the hole's columns updated
    by each block pass (``modernbert.py``); ``None`` for a model without one."""

    def keep_rows(self, index: torch.Tensor) -> None:
        """Keep only the rows ``index`` of everything cached (a batch whose finished requests
        leave it): the layers' keys and values and a copy head's keys alike."""
        if self.layers is not None:
            self.layers = [(k.index_select(0, index), v.index_select(0, index))
                           for k, v in self.layers]
        if self.copy_keys is not None:
            self.copy_keys = self.copy_keys.index_select(0, index)

    def due(self, batch: int) -> bool:
        if self.layers is None or self.layers[0][0].shape[0] != batch:
            return True
        return self.refresh > 0 and self.passes % self.refresh == 0


class _LeanModernBert:
    """ModernBERT's encoder, run layer by layer (global attention in every layer only)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.encoder = model.model
        config = model.config
        self.heads = int(config.num_attention_heads)
        self.head_dim = int(config.hidden_size) // self.heads
        self._rope: dict[tuple[int, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

    @staticmethod
    def supports(model: Any) -> bool:
        config = getattr(model, "config", None)
        types = getattr(config, "layer_types", None) or []
        return (type(model).__name__ == "ModernBertForMaskedLM" and bool(types)
                and all(t == "full_attention" for t in types)
                and float(getattr(config, "attention_dropout", 0.0) or 0.0) == 0.0)

    def rope(self, length: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (length, like.dtype)
        if key not in self._rope:
            positions = torch.arange(length, device=like.device).unsqueeze(0)
            self._rope[key] = self.encoder.rotary_emb(like, positions, "full_attention")
        return self._rope[key]

    def _attend(self, layer: Any, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                kv: tuple[torch.Tensor, torch.Tensor] | None, start: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Attention of the columns in ``x`` (which start at column ``start``); with ``kv`` the
        keys and values of the other columns come from it (and it is updated in place)."""
        attn = layer.attn
        batch, width, _ = x.shape
        qkv = attn.Wqkv(layer.attn_norm(x)).view(batch, width, 3, self.heads, self.head_dim)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(dim=2))
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        if kv is not None:
            keys, values = kv
            keys[:, :, start : start + width] = k
            values[:, :, start : start + width] = v
            k, v = keys, values
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v,
                                                               scale=self.head_dim ** -0.5)
        out = attn.Wo(out.transpose(1, 2).reshape(batch, width, -1))
        return out, k, v

    def full(self, ids: torch.Tensor, keep: bool) -> tuple[torch.Tensor, list | None]:
        x = self.encoder.embeddings(input_ids=ids)
        cos, sin = self.rope(ids.shape[1], x)
        kept = [] if keep else None
        for layer in self.encoder.layers:
            out, k, v = self._attend(layer, x, cos, sin, None, 0)
            if kept is not None:
                kept.append((k, v))
            x = x + out
            x = x + layer.mlp(layer.mlp_norm(x))
        return self.encoder.final_norm(x), kept

    def block(self, ids: torch.Tensor, cache: BlockCache) -> torch.Tensor:
        start, end = cache.start, cache.end
        x = self.encoder.embeddings(input_ids=ids[:, start:end])
        cos, sin = self.rope(ids.shape[1], x)
        cos, sin = cos[:, start:end], sin[:, start:end]
        for layer, kv in zip(self.encoder.layers, cache.layers or [], strict=True):
            out, _, _ = self._attend(layer, x, cos, sin, kv, start)
            x = x + out
            x = x + layer.mlp(layer.mlp_norm(x))
        return self.encoder.final_norm(x)


def _rotate(t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding in float32, as transformers applies it."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    f = t.float()
    half = f.shape[-1] // 2
    rotated = torch.cat((-f[..., half:], f[..., :half]), dim=-1)
    return (f * cos + rotated * sin).to(t.dtype)


class MaskedLMDenoiser(Denoiser):
    """A bidirectional masked LM with same-position logits."""

    def _lean(self) -> _LeanModernBert | None:
        if "lean" not in self.extra:
            self.extra["lean"] = (_LeanModernBert(self.model)
                                  if _LeanModernBert.supports(self.model) else None)
        return self.extra["lean"]

    @property
    def supports_block_cache(self) -> bool:
        return self._lean() is not None

    @property
    def supports_padding(self) -> bool:
        """True when rows of different lengths can share one pass, right-padded with an
        attention mask (:meth:`padded_logits_at`): the architectures whose encoder takes one."""
        return type(self.model).__name__ in _HEADS

    @property
    def supports_padded_block_cache(self) -> bool:
        """True when :meth:`cached_logits_at` takes an ``attention_mask`` (padded rows)."""
        return False

    @property
    def supports_left_padding(self) -> bool:
        """True when a row shifted right by padding keeps its logits (relative positions);
        False here: BERT and RoBERTa read absolute positions."""
        return False

    def padded_logits_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                         where: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, V)`` at the ``True`` positions of ``where`` for right-padded rows
        (``attention_mask``: 1 for real columns, 0 for padding); each real column's logits are
        those of its row alone. Only when :attr:`supports_padding`."""
        attribute, head = _HEADS[type(self.model).__name__]
        hidden = getattr(self.model, attribute)(input_ids=input_ids,
                                                attention_mask=attention_mask)[0]
        return head(self.model, hidden[where]).float()

    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        lean = self._lean()
        if lean is None:
            return head_logits(self.model, input_ids, where)
        hidden, _ = lean.full(input_ids, keep=False)
        return _HEADS["ModernBertForMaskedLM"][1](self.model, hidden[where])

    def cached_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor,
                         cache: BlockCache) -> torch.Tensor:
        """Like :meth:`logits_at` for positions inside the cache's columns, recomputing only
        those columns when the cache holds a recent full pass."""
        lean = self._lean()
        if lean is None:
            return self.logits_at(input_ids, where)
        head = _HEADS["ModernBertForMaskedLM"][1]
        if cache.due(input_ids.shape[0]):
            hidden, cache.layers = lean.full(input_ids, keep=True)
            cache.full_passes += 1
            cache.passes += 1
            return head(self.model, hidden[where]).float()
        cache.passes += 1
        hidden = lean.block(input_ids, cache)
        return head(self.model, hidden[where[:, cache.start : cache.end]]).float()


def has_positional_head(model: Any) -> bool:
    """True when the model's vocabulary projection can run at chosen positions only."""
    return type(model).__name__ in _HEADS


def head_logits(model: Any, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """A masked LM's logits ``(N, V)`` at the ``True`` positions of ``where`` (row-major).

    For the architectures in :data:`_HEADS` the encoder runs once and the head projects to the
    vocabulary only at those positions (most of a small model's cost); any other masked LM runs
    its whole forward and the logits are read at those positions.
    """
    head = _HEADS.get(type(model).__name__)
    if head is None:
        output = model(input_ids=input_ids)
        logits = output.logits if hasattr(output, "logits") else output[0]
        return logits[where]
    hidden = getattr(model, head[0])(input_ids=input_ids).last_hidden_state
    return head[1](model, hidden[where])


def masked_lm_denoiser(model: Any, tokenizer: Any, *, family: str = "masked-lm",
                       name: str | None = None, trailing_pad: bool = False,
                       max_context: int | None = None,
                       kind: type[MaskedLMDenoiser] | None = None) -> MaskedLMDenoiser:
    """Wrap a masked LM and its tokenizer; the tokenizer must define a mask token."""
    config = getattr(model, "config", None)
    mask = special_id(tokenizer, None, "mask")
    if mask is None:
        raise ModelLoadError(
            f"{type(model).__name__}: the tokenizer has no mask token, so the model cannot be "
            "used for masked diffusion; use a tokenizer with a mask token")
    ids = SpecialIds(mask=mask, pad=special_id(tokenizer, config, "pad"),
                     bos=special_id(tokenizer, None, "bos") or special_id(tokenizer, None, "cls"),
                     eos=special_id(tokenizer, None, "eos") or special_id(tokenizer, None, "sep"))
    context = max_context or int(getattr(config, "max_position_embeddings", 512) or 512)
    if type(model).__name__.startswith("Roberta"):
        context -= (ids.pad or 0) + 2  # RoBERTa's positions start after the padding index
    return (kind or MaskedLMDenoiser)(model=model, tokenizer=tokenizer, ids=ids, family=family,
                            name=name or type(model).__name__, alignment="same",
                            max_context=context, trailing_pad=trailing_pad)
