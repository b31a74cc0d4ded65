"""Small composable pieces of a denoising step: logit processors and commit policies.

A step scores the still-masked positions (``logits``: ``(N, V)``, one row per masked slot),
runs the logit processors in order, draws a token and its confidence per slot, and asks the
commit policy which slots to fix this step. Each piece validates its arguments when built, with
a message that says what to change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from code_diffusion.engine.errors import InvalidRequestError


class LogitsProcessor:
    """Transforms ``(N, V)`` logits; subclasses implement ``__call__``."""

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class LogitsProcessorList(list):
    """Applies its processors in order."""

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        for processor in self:
            logits = processor(logits)
        return logits


class SuppressTokens(LogitsProcessor):
    """Never draw these token ids (e.g. ``[MASK]``, ``[BOS]``, or ``[PAD]`` on a fixed canvas)."""

    def __init__(self, token_ids: Iterable[int | None]) -> None:
        self.token_ids = sorted({int(t) for t in token_ids if t is not None})

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        if self.token_ids:
            logits[:, self.token_ids] = float("-inf")
        return logits


class TemperatureWarper(LogitsProcessor):
    """Divide logits by ``temperature`` (> 0; temperature 0 is greedy and needs no warper)."""

    def __init__(self, temperature: float) -> None:
        if not temperature > 0:
            raise InvalidRequestError(
                "temperature", f"TemperatureWarper needs temperature > 0, got {temperature}")
        self.temperature = float(temperature)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        return logits / self.temperature


class TopPWarper(LogitsProcessor):
    """Nucleus filtering: keep the smallest set of tokens whose probability reaches ``top_p``."""

    def __init__(self, top_p: float) -> None:
        if not 0 < top_p <= 1:
            raise InvalidRequestError("top_p", f"top_p must be in (0, 1], got {top_p}")
        self.top_p = float(top_p)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        if self.top_p >= 1:
            return logits
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cumulative - sorted_logits.softmax(-1) >= self.top_p  # keep >= 1 token
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        return logits.masked_fill(drop, float("-inf"))


def classifier_free_guidance(cond: torch.Tensor, uncond: torch.Tensor,
                             scale: float) -> torch.Tensor:
    """``uncond + scale · (cond − uncond)`` (Ho & Salimans 2022, Eq. 6); scale 1 returns cond."""
    if scale == 1.0:
        return cond
    return uncond + scale * (cond - uncond)


def draw(logits: torch.Tensor, temperature: float,
         generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw a token per row and return ``(tokens, confidence)``.

    Temperature 0 takes the most probable token, with a float32 softmax (a greedy draw needs
    no more precision). Otherwise the Gumbel-max trick in float64 (as LLaDA does:
    low-precision Gumbel noise biases the draw). Confidence is the probability of the drawn
    token under the processed (tempered) distribution.
    """
    if temperature == 0:
        confidence, tokens = logits.float().softmax(-1).max(-1)
        return tokens, confidence
    logits = logits.double()
    probs = logits.softmax(-1)
    uniform = torch.rand(logits.shape, dtype=torch.float64, device=logits.device,
                         generator=generator).clamp_(1e-12, 1.0)
    tokens = (logits - torch.log(-torch.log(uniform))).argmax(-1)
    return tokens, probs.gather(-1, tokens[:, None]).squeeze(-1).float()


class CommitPolicy:
    """Decides which masked slots of one row to commit this step.

    ``confidence`` holds one value per still-masked slot of the row, in position order.
    ``steps_left`` counts this step. Returns the indices (into ``confidence``) to commit; at
    least one whenever a slot is masked, and all of them on the last step.
    """

    def __call__(self, confidence: torch.Tensor, steps_left: int) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover - interface

    @staticmethod
    def quota(masked: int, steps_left: int) -> int:
        """LLaDA's linear schedule (``get_num_transfer_tokens``): spread the masked slots
        evenly over the steps left, the remainder going to the earliest steps."""
        return math.ceil(masked / max(1, steps_left))


@dataclass(frozen=True)
class QuotaPolicy(CommitPolicy):
    """Low-confidence remasking with a fixed quota per step (LLaDA, Alg. 4 / 5): commit the
    ``ceil(masked / steps_left)`` most confident slots."""

    def __call__(self, confidence: torch.Tensor, steps_left: int) -> torch.Tensor:
        k = self.quota(confidence.numel(), steps_left)
        return torch.topk(confidence, k).indices


@dataclass(frozen=True)
class ThresholdPolicy(CommitPolicy):
    """Commit every slot whose confidence reaches ``threshold`` (Fast-dLLM's parallel decoding),
    at least one per step, and never fewer than the quota that finishes within the steps left."""

    threshold: float = 0.9

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise InvalidRequestError(
                "threshold", f"threshold must be in (0, 1], got {self.threshold}")

    def __call__(self, confidence: torch.Tensor, steps_left: int) -> torch.Tensor:
        above = int((confidence >= self.threshold).sum())
        k = max(above, self.quota(confidence.numel(), steps_left), 1)
        return torch.topk(confidence, min(k, confidence.numel())).indices


def make_policy(name: str, threshold: float = 0.9) -> CommitPolicy:
    """``quota`` or ``threshold``; anything else is an error listing both."""
    if name == "quota":
        return QuotaPolicy()
    if name == "threshold":
        return ThresholdPolicy(threshold)
    raise InvalidRequestError("policy", f"policy must be 'quota' or 'threshold', got {name!r}")


def trailing_fill(committed: Sequence[int | None], pad_id: int | None,
                  line_ends: frozenset[int] = frozenset()) -> list[int]:
    """Indices of hole slots that can be set to ``[PAD]`` at once, ending the hole early.

    ``committed`` holds each hole slot's token, or ``None`` while masked. Unused slots are
    trailing ``[PAD]`` (the model was trained that way), so once a ``[PAD]`` is committed with
    nothing but masks and pads after it, the masks after it are past the end. For a one-line
    hole, ``line_ends`` are the tokens that contain a newline: the completion is cut at the
    first one, so every masked slot after it is past the end too.
    """
    for index, token in enumerate(committed):
        if token is None:
            continue
        rest = committed[index + 1 :]
        ends_line = token in line_ends
        trailing_pad = token == pad_id and all(t is None or t == pad_id for t in rest)
        if ends_line or trailing_pad:
            return [index + 1 + j for j, t in enumerate(rest) if t is None]
    return []
