"""Any transformers ``AutoModelForMaskedLM``: the embedded model, BERT, RoBERTa, ModernBERT.

Same-position logits, the mask id from the tokenizer. The fast path runs the encoder once and
projects to the vocabulary only at the positions asked for, which saves most of the output
layer's cost (the vocabulary projection dominates a small model's forward pass).
"""

from __future__ import annotations

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


class MaskedLMDenoiser(Denoiser):
    """A bidirectional masked LM with same-position logits."""

    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        head = _HEADS.get(type(self.model).__name__)
        if head is None:
            return super()._raw_logits_at(input_ids, where)
        encoder = getattr(self.model, head[0])
        hidden = encoder(input_ids=input_ids).last_hidden_state
        return head[1](self.model, hidden[where])


def masked_lm_denoiser(model: Any, tokenizer: Any, *, family: str = "masked-lm",
                       name: str | None = None, trailing_pad: bool = False,
                       max_context: int | None = None) -> MaskedLMDenoiser:
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
    return MaskedLMDenoiser(model=model, tokenizer=tokenizer, ids=ids, family=family,
                            name=name or type(model).__name__, alignment="same",
                            max_context=context, trailing_pad=trailing_pad)
