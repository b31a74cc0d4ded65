"""ModernBERT's masked LM in plain torch: the embedded model's architecture, without transformers.

The same weights (``model.safetensors``, the same parameter names) and the same algebra as
transformers' ``ModernBertForMaskedLM`` in inference: token embedding and LayerNorm; layers of
pre-norm attention (rotary positions, global or sliding-window) and a GeGLU MLP; a final norm;
the head (dense, activation, norm) and the decoder tied to the token embedding. Loading it
needs only ``torch``, ``safetensors`` and ``tokenizers``, which keeps transformers' import (and
what it pulls in) off the embedded model's start-up.

Beyond ``forward`` it offers what the sampler uses: logits at the masked positions only, and the
block cache (the hole's columns recomputed against kept keys and values of the context, see
:class:`~code_diffusion.engine.adapters.masked_lm.BlockCache`).

A config with a ``copy_head`` entry adds the copy head (``copy_head.py``): every path that
returns logits then returns the log of the mixed copy/vocabulary distribution. Without it the
outputs are those of the plain masked LM, computed by the same calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from code_diffusion.engine.adapters.copy_head import CopyHead
from code_diffusion.engine.adapters.masked_lm import BlockCache, MaskedLMDenoiser
from code_diffusion.engine.adapters.modernbert_config import ACTIVATIONS, ModernBertConfig
from code_diffusion.engine.errors import ModelLoadError

__all__ = ["ModernBertConfig", "ModernBertDenoiser", "ModernBertMaskedLM", "load_own_modernbert",
           "load_weights"]


@dataclass(frozen=True)
class MaskedLMOutput:
    logits: torch.Tensor


class _Embeddings(nn.Module):
    def __init__(self, c: ModernBertConfig) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.norm = nn.LayerNorm(c.hidden_size, eps=c.norm_eps, bias=c.norm_bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.norm(self.tok_embeddings(ids))


class _Attention(nn.Module):
    def __init__(self, c: ModernBertConfig) -> None:
        super().__init__()
        self.Wqkv = nn.Linear(c.hidden_size, 3 * c.hidden_size, bias=c.attention_bias)
        self.Wo = nn.Linear(c.hidden_size, c.hidden_size, bias=c.attention_bias)


class _Mlp(nn.Module):
    """GeGLU: the first projection's halves are the input (activated) and the gate."""

    def __init__(self, c: ModernBertConfig) -> None:
        super().__init__()
        self.Wi = nn.Linear(c.hidden_size, 2 * c.intermediate_size, bias=c.mlp_bias)
        self.Wo = nn.Linear(c.intermediate_size, c.hidden_size, bias=c.mlp_bias)
        self.act = ACTIVATIONS[c.hidden_activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.Wi(x).chunk(2, dim=-1)
        return self.Wo(self.act(value) * gate)


class _Layer(nn.Module):
    def __init__(self, c: ModernBertConfig, index: int) -> None:
        super().__init__()
        # The first layer's input is the embedding's norm already: no norm of its own.
        self.attn_norm = (nn.Identity() if index == 0
                          else nn.LayerNorm(c.hidden_size, eps=c.norm_eps, bias=c.norm_bias))
        self.attn = _Attention(c)
        self.mlp_norm = nn.LayerNorm(c.hidden_size, eps=c.norm_eps, bias=c.norm_bias)
        self.mlp = _Mlp(c)
        self.sliding = c.layer_types[index] == "sliding_attention"


class _Encoder(nn.Module):
    def __init__(self, c: ModernBertConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(c)
        self.layers = nn.ModuleList(_Layer(c, i) for i in range(len(c.layer_types)))
        self.final_norm = nn.LayerNorm(c.hidden_size, eps=c.norm_eps, bias=c.norm_bias)


class _Head(nn.Module):
    def __init__(self, c: ModernBertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size, bias=c.classifier_bias)
        self.norm = nn.LayerNorm(c.hidden_size, eps=c.norm_eps, bias=c.norm_bias)
        self.act = ACTIVATIONS[c.classifier_activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.act(self.dense(x)))


class ModernBertMaskedLM(nn.Module):
    """The masked LM; parameter names match the checkpoint's (``model.*``, ``head.*``,
    ``decoder.*``, ``copy_head.*`` with a copy head), and the decoder's weight is the token
    embedding's."""

    def __init__(self, config: ModernBertConfig) -> None:
        super().__init__()
        self.config = config
        self.heads = config.num_attention_heads
        self.model = _Encoder(config)
        self.head = _Head(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=config.decoder_bias)
        self.decoder.weight = self.model.embeddings.tok_embeddings.weight
        self.copy_head = (CopyHead(config.hidden_size, config.copy_head)
                          if config.copy_head is not None else None)
        self._tables: dict[tuple, Any] = {}

    # -- positions and masks, cached per shape ----------------------------------------------
    def _rope(self, length: int, sliding: bool, like: torch.Tensor):
        key = ("rope", length, sliding, like.dtype, like.device)
        if key not in self._tables:
            theta = self.config.local_rope_theta if sliding else self.config.global_rope_theta
            dim = self.config.head_dim
            inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
            freqs = torch.arange(length, device=like.device).float()[:, None] * inv_freq.to(
                like.device)
            angles = torch.cat((freqs, freqs), dim=-1)
            self._tables[key] = (angles.cos().to(like.dtype), angles.sin().to(like.dtype))
        return self._tables[key]

    def _window(self, length: int, start: int, end: int, device: torch.device):
        """The sliding-window mask of query columns ``[start, end)`` over all ``length`` key
        columns (True: may attend), or ``None`` when the window covers every pair."""
        half = self.config.local_attention // 2
        if half >= length - 1:
            return None
        key = ("window", length, start, end, device)
        if key not in self._tables:
            queries = torch.arange(start, end, device=device)[:, None]
            keys = torch.arange(length, device=device)[None, :]
            self._tables[key] = (queries - keys).abs() <= half
        return self._tables[key]

    def _masks(self, length: int, start: int, end: int, device: torch.device,
               attention_mask: torch.Tensor | None) -> dict[bool, torch.Tensor | None]:
        """The attention mask of query columns ``[start, end)`` for full (``False``) and
        sliding (``True``) layers. ``attention_mask`` ``(batch, length)`` marks real columns
        (1) and padding (0): no column attends to padding, except that a padding column attends
        to itself (a query with no key at all gives NaN, which zero weights would not stop)."""
        masks = {sliding: self._window(length, start, end, device) if sliding else None
                 for sliding in (False, True)}
        if attention_mask is None:
            return masks
        keys = attention_mask.to(device=device, dtype=torch.bool)[:, None, None, :]
        itself = (torch.arange(start, end, device=device)[:, None]
                  == torch.arange(length, device=device)[None, :])
        return {sliding: (keys if window is None else keys & window) | itself
                for sliding, window in masks.items()}

    # -- the passes --------------------------------------------------------------------------
    def _layer(self, layer: _Layer, x: torch.Tensor, length: int, start: int,
               kv: tuple[torch.Tensor, torch.Tensor] | None, mask: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One layer on the columns in ``x`` (from column ``start`` of a ``length``-column
        canvas); with ``kv`` the other columns' keys and values come from it (updated in
        place with these columns'). ``mask``: True where a query may attend to a key."""
        batch, width, _ = x.shape
        qkv = layer.attn.Wqkv(layer.attn_norm(x)).view(batch, width, 3, self.heads, -1)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(dim=2))
        cos, sin = self._rope(length, layer.sliding, x)
        q, k = _rotate(q, cos[start : start + width], sin[start : start + width]), \
            _rotate(k, cos[start : start + width], sin[start : start + width])
        if kv is not None:
            kv[0][:, :, start : start + width] = k
            kv[1][:, :, start : start + width] = v
            k, v = kv
        out = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                      scale=self.config.head_dim ** -0.5)
        x = x + layer.attn.Wo(out.transpose(1, 2).reshape(batch, width, -1))
        return x + layer.mlp(layer.mlp_norm(x)), k, v

    def encode(self, ids: torch.Tensor, keep: bool = False,
               attention_mask: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]] | None]:
        """Final hidden states of every column; with ``keep`` each layer's keys and values.
        ``attention_mask`` ``(batch, length)``: 1 for real columns, 0 for padding (rows of
        different lengths, padded on either side); the real columns' states are those of the row
        alone."""
        x = self.model.embeddings(ids)
        length = ids.shape[1]
        masks = self._masks(length, 0, length, ids.device, attention_mask)
        kept: list[tuple[torch.Tensor, torch.Tensor]] | None = [] if keep else None
        for layer in self.model.layers:
            x, k, v = self._layer(layer, x, length, 0, None, masks[layer.sliding])
            if kept is not None:
                kept.append((k, v))
        return self.model.final_norm(x), kept

    def encode_block(self, ids: torch.Tensor, cache: BlockCache,
                     attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states of the cache's columns, against its kept keys and values
        (``attention_mask`` as in :meth:`encode`, over all ``length`` columns)."""
        length = ids.shape[1]
        masks = self._masks(length, cache.start, cache.end, ids.device, attention_mask)
        x = self.model.embeddings(ids[:, cache.start : cache.end])
        for layer, kv in zip(self.model.layers, cache.layers or [], strict=True):
            x, _, _ = self._layer(layer, x, length, cache.start, kv, masks[layer.sliding])
        return self.model.final_norm(x)

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.head(hidden))

    def output(self, hidden: torch.Tensor, ids: torch.Tensor, where: torch.Tensor,
               attention_mask: torch.Tensor | None = None, start: int = 0,
               keys: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(N, vocab)`` at the ``True`` positions of ``where`` ``(batch, length)``
        from the hidden states of columns ``[start, start + width)``. With a copy head: the
        mixed distribution's log, its keys from ``keys`` ``(batch, length, key_dim)`` (default:
        those of ``hidden``, which must then cover every column)."""
        local = where[:, start : start + hidden.shape[1]]
        logits = self.project(hidden[local])
        if self.copy_head is None:
            return logits
        head = self.copy_head
        keys = head.keys(hidden) if keys is None else keys
        copy, log_gate, log_rest = head.attend(hidden, keys, head.visible(ids, attention_mask),
                                               local, start)
        return head.mix(logits, ids, copy, log_gate, log_rest, local)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor | None = None) -> MaskedLMOutput:
        """Logits at every position, ``(batch, length, vocab)``, as ``.logits`` (the shape of
        transformers' output, which the engine's generic paths read)."""
        hidden = self.encode(input_ids, attention_mask=attention_mask)[0]
        if self.copy_head is None:
            return MaskedLMOutput(self.project(hidden))
        every = torch.ones(input_ids.shape, dtype=torch.bool, device=input_ids.device)
        logits = self.output(hidden, input_ids, every, attention_mask)
        return MaskedLMOutput(logits.view(*input_ids.shape, -1))

    def logits_at(self, ids: torch.Tensor, where: torch.Tensor,
                  attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(N, vocab)`` at the ``True`` positions of ``where`` only."""
        hidden = self.encode(ids, attention_mask=attention_mask)[0]
        return self.output(hidden, ids, where, attention_mask)


def _rotate(t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding, computed in float32 and cast back."""
    f = t.float()
    half = f.shape[-1] // 2
    return (f * cos + torch.cat((-f[..., half:], f[..., :half]), dim=-1) * sin).to(t.dtype)


class ModernBertDenoiser(MaskedLMDenoiser):
    """The sampler's view of :class:`ModernBertMaskedLM`: logits at the masked positions,
    with the block cache, on rows of one length or padded rows of several."""

    @property
    def supports_block_cache(self) -> bool:
        return True

    @property
    def supports_padding(self) -> bool:
        return True

    @property
    def supports_padded_block_cache(self) -> bool:
        return True

    @property
    def supports_left_padding(self) -> bool:
        """Rotary positions and the sliding window are relative: a row shifted right by
        padding keeps its logits (to float rounding)."""
        return True

    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return self.model.logits_at(input_ids, where)

    def padded_logits_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                         where: torch.Tensor) -> torch.Tensor:
        return self.model.logits_at(input_ids, where, attention_mask=attention_mask).float()

    def cached_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor,
                         cache: BlockCache,
                         attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Like :meth:`logits_at` for positions inside the cache's columns, recomputing only
        those columns when the cache holds a recent full pass (``attention_mask``: padded
        rows, as in :meth:`padded_logits_at`)."""
        model = self.model
        if cache.due(input_ids.shape[0]):
            hidden, cache.layers = model.encode(input_ids, keep=True,
                                                attention_mask=attention_mask)
            cache.full_passes += 1
            cache.passes += 1
            if model.copy_head is not None:  # the copy keys are kept like the layers' keys
                cache.copy_keys = model.copy_head.keys(hidden)
            return model.output(hidden, input_ids, where, attention_mask,
                                keys=cache.copy_keys).float()
        cache.passes += 1
        hidden = model.encode_block(input_ids, cache, attention_mask=attention_mask)
        if model.copy_head is not None:
            cache.copy_keys[:, cache.start : cache.end] = model.copy_head.keys(hidden)
        return model.output(hidden, input_ids, where, attention_mask, start=cache.start,
                            keys=cache.copy_keys).float()


def load_weights(directory: Path, dtype: torch.dtype, device: torch.device | str = "cpu"
                 ) -> ModernBertMaskedLM:
    """The masked LM of ``directory`` (``config.json`` and ``model.safetensors``)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_file, weights = directory / "config.json", directory / "model.safetensors"
    config = ModernBertConfig.from_json(json.loads(config_file.read_text(encoding="utf-8")),
                                        str(config_file))
    try:
        state = load_file(str(weights), device=str(device))
    except (OSError, RuntimeError, ValueError, SafetensorError) as exc:
        raise ModelLoadError(f"could not load the weights from {weights}: {exc}; the file "
                             "may be truncated: copy the checkpoint again") from exc
    model = ModernBertMaskedLM(config)  # not on the meta device: its kernels load torch._dynamo
    state.setdefault("decoder.weight", state.get("model.embeddings.tok_embeddings.weight"))
    expected = set(model.state_dict())
    missing, unknown = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unknown:
        raise ModelLoadError(f"{weights} does not hold this config's ModernBERT: missing "
                             f"{missing[:5] or 'nothing'}, unexpected {unknown[:5] or 'nothing'}")
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, assign=True)
    model.decoder.weight = model.model.embeddings.tok_embeddings.weight
    return model.eval()


def load_own_modernbert(directory: Path, config: dict[str, Any], dtype: torch.dtype
                        ) -> tuple[ModernBertMaskedLM, Any] | None:
    """``(model, tokenizer)`` of a ModernBERT masked LM saved as ``model.safetensors``, built
    with this module and the ``tokenizers`` library; ``None`` for any other checkpoint (it
    loads through transformers)."""
    from code_diffusion.engine.adapters.tokenizer_file import TokenizerFile

    if (str(config.get("model_type", "")).lower() != "modernbert"
            or "ModernBertForMaskedLM" not in (config.get("architectures") or [])
            or not (directory / "model.safetensors").exists()):
        return None
    rows = ModernBertConfig.from_json(config, str(directory / "config.json")).vocab_size
    tokenizer = TokenizerFile(directory, embedding_rows=rows)
    model = load_weights(directory, dtype)
    return model, tokenizer
