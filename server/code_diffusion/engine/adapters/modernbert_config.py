"""The fields of a ModernBERT ``config.json`` that the engine's own module depends on.

Read from transformers' config format (the ``rope_parameters`` form or the older
``global_rope_theta`` / ``global_attn_every_n_layers`` form), plus the optional ``copy_head``
entry of a model trained with one (``copy_head.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch.nn import functional

from code_diffusion.engine.adapters.copy_head import CopyHeadConfig
from code_diffusion.engine.errors import ModelLoadError

ACTIVATIONS = {"gelu": functional.gelu, "relu": functional.relu, "silu": functional.silu}
LAYER_TYPES = ("full_attention", "sliding_attention")


@dataclass(frozen=True)
class ModernBertConfig:
    """The fields of a ModernBERT ``config.json`` the forward pass depends on."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    layer_types: tuple[str, ...]
    local_attention: int = 128
    global_rope_theta: float = 160000.0
    local_rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    norm_bias: bool = False
    attention_bias: bool = False
    mlp_bias: bool = False
    classifier_bias: bool = False
    decoder_bias: bool = True
    hidden_activation: str = "gelu"
    classifier_activation: str = "gelu"
    pad_token_id: int | None = 0
    max_position_embeddings: int = 8192
    copy_head: CopyHeadConfig | None = None
    """The copy head's settings, or ``None``: the plain masked LM."""

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_json(cls, config: dict[str, Any], where: str = "config.json") -> ModernBertConfig:
        """Read a transformers ModernBERT config (the ``rope_parameters`` form or the older
        ``global_rope_theta`` / ``global_attn_every_n_layers`` form)."""
        if str(config.get("model_type", "")).lower() != "modernbert":
            raise ModelLoadError(f"{where} describes model_type {config.get('model_type')!r}, "
                                 "not modernbert")
        layers = int(config["num_hidden_layers"])
        every = int(config.get("global_attn_every_n_layers", 3))
        types = tuple(config.get("layer_types") or (
            "sliding_attention" if i % every else "full_attention" for i in range(layers)))
        rope = config.get("rope_parameters") or {}
        thetas = {t: (rope.get(t) or {}).get("rope_theta") for t in LAYER_TYPES}
        kinds = {(rope.get(t) or {}).get("rope_type", "default") for t in LAYER_TYPES}
        problems = [f"layer type {t!r}" for t in types if t not in LAYER_TYPES]
        problems += [f"rope_type {k!r}" for k in kinds if k != "default"]
        for key in ("hidden_activation", "classifier_activation"):
            if config.get(key, "gelu") not in ACTIVATIONS:
                problems.append(f"{key} {config.get(key)!r}")
        if len(types) != layers:
            problems.append(f"{len(types)} layer_types for {layers} layers")
        if problems:
            raise ModelLoadError(f"{where}: this ModernBERT uses {', '.join(problems)}, which "
                                 "the built-in encoder does not implement; load it as a "
                                 "model directory (codeDiffusion.modelPath) instead")
        return cls(
            vocab_size=int(config["vocab_size"]), hidden_size=int(config["hidden_size"]),
            intermediate_size=int(config["intermediate_size"]),
            num_attention_heads=int(config["num_attention_heads"]), layer_types=types,
            local_attention=int(config.get("local_attention", 128)),
            global_rope_theta=float(thetas["full_attention"]
                                    or config.get("global_rope_theta", 160000.0)),
            local_rope_theta=float(thetas["sliding_attention"]
                                   or config.get("local_rope_theta", 10000.0)),
            norm_eps=float(config.get("norm_eps", 1e-5)),
            **{key: bool(config.get(key, default)) for key, default in (
                ("norm_bias", False), ("attention_bias", False), ("mlp_bias", False),
                ("classifier_bias", False), ("decoder_bias", True))},
            hidden_activation=str(config.get("hidden_activation", "gelu")),
            classifier_activation=str(config.get("classifier_activation", "gelu")),
            pad_token_id=config.get("pad_token_id"),
            max_position_embeddings=int(config.get("max_position_embeddings", 8192)),
            copy_head=CopyHeadConfig.from_json(config, where))
