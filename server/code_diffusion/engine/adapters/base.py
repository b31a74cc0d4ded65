"""What the engine's sampler needs from a model family: aligned logits and the special ids.

A :class:`Denoiser` hides a family's quirks. ``logits_at(ids, where)`` returns the logits *for*
the positions in ``where`` (the prediction of the token at that position), whatever the family's
own alignment: a masked LM predicts position i at output i ("same"), a model adapted from an
autoregressive one (Dream, DiffuCoder, Open-dCoder) predicts position i at output i−1
("shifted"). The sampler never sees the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from code_diffusion.engine.errors import InvalidRequestError, ModelLoadError


@dataclass
class SpecialIds:
    """The token ids the sampler treats specially."""

    mask: int
    pad: int | None = None
    bos: int | None = None
    eos: int | None = None


@dataclass
class Denoiser:
    """A model that scores masked positions, plus its tokenizer and special ids.

    Subclasses override :meth:`_raw_logits_at` (logits *at* output positions) when the family
    has a faster path than a full forward pass.
    """

    model: Any
    tokenizer: Any
    ids: SpecialIds
    family: str
    name: str
    alignment: Literal["same", "shifted"] = "same"
    max_context: int = 512
    trailing_pad: bool = False
    """True when the model was trained to fill unused hole slots with ``[PAD]`` (length
    control by trimming). Only then does the sampler give rows canvases of different lengths."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without any special tokens."""
        if not text:
            return []
        # The caller cuts the window; the tokenizer's length warning would only be noise.
        return list(self.tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=False,
                                     clean_up_tokenization_spaces=False)

    def check_context(self, left: list[int]) -> None:
        """The family's rule for the tokens before the hole: a shifted-logit model predicts
        position i from output i−1, so the hole needs a token before it (a ``[BOS]`` when the
        prefix is empty)."""
        if self.alignment == "shifted" and not left:
            raise InvalidRequestError(
                "partial_code", f"{self.name} predicts each token from the one before it and "
                "its tokenizer has no BOS token: give it code or a specification before the hole")

    def logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """Float32 logits ``(N, V)`` predicting the token at each ``True`` of ``where``
        (row-major order), aligned to the token positions whatever the family."""
        if self.alignment == "shifted":
            if bool(where[:, 0].any()):
                raise ValueError("a shifted-logit model cannot predict position 0; "
                                 "put at least one real token before the hole")
            source = torch.zeros_like(where)
            source[:, :-1] = where[:, 1:]  # the prediction for i comes from output i-1
            return self._raw_logits_at(input_ids, source).float()
        return self._raw_logits_at(input_ids, where).float()

    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        output = self.model(input_ids=input_ids)
        logits = output.logits if hasattr(output, "logits") else output[0]
        return logits[where]


def special_id(tokenizer: Any, config: Any, name: str) -> int | None:
    """A special token id from the tokenizer, checked against the model config when both
    define it; a disagreement is an error (it would silently corrupt every sample)."""
    from_tokenizer = getattr(tokenizer, f"{name}_token_id", None)
    from_config = getattr(config, f"{name}_token_id", None) if config is not None else None
    if isinstance(from_config, list | tuple):
        from_config = from_config[0] if from_config else None
    if (from_tokenizer is not None and from_config is not None
            and int(from_tokenizer) != int(from_config)):
        raise ModelLoadError(
            f"the tokenizer's {name} token id ({from_tokenizer}) differs from the model "
            f"config's {name}_token_id ({from_config}); fix config.json or the tokenizer files")
    value = from_tokenizer if from_tokenizer is not None else from_config
    return None if value is None else int(value)
