"""The embedded model's architecture: a small ``ModernBertForMaskedLM``.

ModernBERT is a pre-LayerNorm bidirectional encoder with rotary positions and GeGLU MLPs, and
returns same-position logits. A post-LN ``BertForMaskedLM`` of this size stayed on the unigram
plateau in our early trials; the pre-LN encoder leaves it. Being a stock transformers class, it
saves as safetensors and loads with ``AutoModelForMaskedLM.from_pretrained``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from code_diffusion.training.objective import BOS_ID, EOS_ID, MASK_ID, PAD_ID


@dataclass(frozen=True)
class ModelSize:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int


SIZES = {
    "tiny": ModelSize(128, 2, 2, 256),
    "small": ModelSize(256, 4, 4, 512),
    "base": ModelSize(256, 6, 4, 640),
}


def make_config(vocab_size: int, size: str | ModelSize = "base", max_positions: int = 512):
    """A ``ModernBertConfig`` for one of :data:`SIZES` (or any :class:`ModelSize`), with global
    attention in every layer."""
    from transformers import ModernBertConfig

    dims = size if isinstance(size, ModelSize) else SIZES[size]
    return ModernBertConfig(
        vocab_size=vocab_size,
        max_position_embeddings=max_positions,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        cls_token_id=BOS_ID,
        sep_token_id=EOS_ID,
        layer_types=["full_attention"] * dims.num_hidden_layers,
        local_attention=max_positions,
        embedding_dropout=0.0,
        attention_dropout=0.0,
        mlp_dropout=0.0,
        tie_word_embeddings=True,
        **asdict(dims),
    )


def build_model(vocab_size: int, size: str | ModelSize = "base", max_positions: int = 512):
    from transformers import ModernBertForMaskedLM

    config = make_config(vocab_size, size, max_positions)
    config._attn_implementation = "sdpa"
    model = ModernBertForMaskedLM(config)
    return model


def add_copy_head(model, key_dim: int):
    """Give a ``ModernBertForMaskedLM`` the engine's copy head (fresh weights, the gate nearly
    shut) as ``model.copy_head``, and record it in the config so ``save_pretrained`` writes the
    ``copy_head`` key next to the ``copy_head.*`` weights."""
    from code_diffusion.engine.adapters.copy_head import CopyHead, CopyHeadConfig

    config = CopyHeadConfig(key_dim=key_dim, mask_token_id=MASK_ID, pad_token_id=PAD_ID)
    model.copy_head = CopyHead(model.config.hidden_size, config)
    model.copy_head.reset_parameters(std=float(model.config.initializer_range))
    model.config.copy_head = config.to_json()
    return model


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["MASK_ID", "SIZES", "add_copy_head", "build_model", "count_parameters", "make_config"]
