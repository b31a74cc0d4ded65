"""Denoisers for the diffusion LLM families that are driven through a plain forward pass.

* Dream / Dream-Coder / DiffuCoder / Open-dCoder: adapted from autoregressive models, so the
  logits are shifted by one (the prediction for position i comes from output i−1); mask id from
  the tokenizer (151666 in that family). Their own ``diffusion_generate`` stays reachable as
  :meth:`DreamDenoiser.native_generate`, the reference the conformance tests compare against.
* LLaDA: same-position logits from ``model(ids).logits``, mask id 126336 unless the tokenizer
  says otherwise. LLaDA's reference ``generate`` is a free function in its repository, not in
  the checkpoint; pass it as ``native_generate=`` to use it as the reference path.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from code_diffusion.engine.adapters.base import Denoiser, SpecialIds, special_id
from code_diffusion.engine.errors import ModelLoadError

LLADA_MASK_ID = 126336
DREAM_NATIVE_PARAMETERS = ("max_new_tokens", "steps", "temperature", "top_p", "alg", "alg_temp",
                           "output_history", "return_dict_in_generate")


class DreamDenoiser(Denoiser):
    """Shifted logits; ``diffusion_generate`` as the native reference path."""

    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        output = self.model(input_ids)
        logits = output.logits if hasattr(output, "logits") else output[0]
        return logits[where]

    def native_generate(self, prompt_ids: torch.Tensor, **options: Any) -> torch.Tensor:
        """Call the model's own ``diffusion_generate`` on ``prompt_ids`` (generation at the
        end, the only mode it has) and return the sequences."""
        output = self.model.diffusion_generate(
            prompt_ids, attention_mask=torch.ones_like(prompt_ids),
            output_history=False, return_dict_in_generate=True, **options)
        return output.sequences if hasattr(output, "sequences") else output


class LLaDADenoiser(Denoiser):
    """Same-position logits from a plain forward pass."""

    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids).logits[where]

    def native_generate(self, prompt_ids: torch.Tensor, **options: Any) -> torch.Tensor:
        native: Callable[..., torch.Tensor] | None = self.extra.get("native_generate")
        if native is None:
            raise ModelLoadError(
                "LLaDA's reference generate() is a function of its repository, not of the "
                "checkpoint; pass it with as_code_generation_model(..., native_generate=fn)")
        return native(self.model, prompt_ids, mask_id=self.ids.mask, **options)


def has_dream_signature(model: Any) -> bool:
    """True when ``model.diffusion_generate`` takes Dream's parameters (inspected, not called)."""
    method = getattr(model, "diffusion_generate", None)
    if not callable(method):
        return False
    parameters = inspect.signature(method).parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    return takes_kwargs or all(name in parameters for name in ("max_new_tokens", "steps"))


def dream_denoiser(model: Any, tokenizer: Any, name: str | None = None) -> DreamDenoiser:
    config = getattr(model, "config", None)
    mask = special_id(tokenizer, config, "mask")
    if mask is None:
        raise ModelLoadError(f"{type(model).__name__}: the tokenizer defines no mask token "
                             "(Dream-family tokenizers have <|mask|>, id 151666)")
    ids = SpecialIds(mask=mask, pad=special_id(tokenizer, config, "pad"),
                     bos=special_id(tokenizer, config, "bos"),
                     eos=special_id(tokenizer, config, "eos"))
    context = int(getattr(config, "max_position_embeddings", 2048) or 2048)
    return DreamDenoiser(model=model, tokenizer=tokenizer, ids=ids, family="dream",
                         name=name or type(model).__name__, alignment="shifted",
                         max_context=context)


def llada_denoiser(model: Any, tokenizer: Any, name: str | None = None,
                   native_generate: Callable[..., torch.Tensor] | None = None) -> LLaDADenoiser:
    config = getattr(model, "config", None)
    mask = special_id(tokenizer, None, "mask")
    configured = getattr(config, "mask_token_id", None)
    mask = int(configured) if configured is not None else (mask or LLADA_MASK_ID)
    ids = SpecialIds(mask=mask, pad=special_id(tokenizer, None, "pad"),
                     bos=special_id(tokenizer, None, "bos"),
                     eos=special_id(tokenizer, None, "eos"))
    context = int(getattr(config, "max_sequence_length", 0)
                  or getattr(config, "max_position_embeddings", 4096) or 4096)
    return LLaDADenoiser(model=model, tokenizer=tokenizer, ids=ids, family="llada",
                         name=name or type(model).__name__, alignment="same",
                         max_context=context,
                         extra={"native_generate": native_generate} if native_generate else {})
