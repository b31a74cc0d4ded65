"""``CodeDiffusion``: the engine's masked-diffusion sampler, over any :class:`Denoiser`.

The hole is a run of ``[MASK]`` slots between the prefix and suffix tokens. Each step scores
the masked slots, draws a token per slot and commits the slots the policy picks (LLaDA's
low-confidence remasking, or a confidence threshold that commits several per pass). Unused
slots resolve to ``[PAD]`` and are trimmed: with that, a canvas longer than the completion costs
little and the completion's length is the model's choice, not the canvas's.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch

from code_diffusion.engine.adapters.base import Denoiser
from code_diffusion.engine.canvas import Canvas, build_canvas
from code_diffusion.engine.errors import GenerationCancelled, InvalidRequestError
from code_diffusion.engine.interface import ModelInfo, SampleStep
from code_diffusion.engine.sampling import (
    CommitPolicy,
    LogitsProcessorList,
    SuppressTokens,
    TemperatureWarper,
    TopPWarper,
    classifier_free_guidance,
    draw,
    make_policy,
    trailing_fill,
)
from code_diffusion.engine.types import Candidate, GenerationRequest, PartialCode

SMALL_MODEL_PARAMETERS = 20_000_000
"""Below this size a CPU pass runs on one thread: the matrices are too small for a second
thread to pay for its synchronisation, which costs far more when the cores are busy."""
THREADS_VARIABLE = "CODE_DIFFUSION_THREADS"


def pass_threads(denoiser: Denoiser) -> int | None:
    """Intra-op threads for the model's passes: ``$CODE_DIFFUSION_THREADS`` if set, else one
    thread for a small model on the CPU, else ``None`` (torch's own setting)."""
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if denoiser.device.type != "cpu":
        return None
    size = sum(p.numel() for p in denoiser.model.parameters())
    return 1 if size < SMALL_MODEL_PARAMETERS else None


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads (``None``: leave the setting alone)."""
    before = torch.get_num_threads()
    if count is None or count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class SamplerOptions:
    """Engine options that are not request parameters: how the hole is shaped and committed."""

    hole: str = "auto"
    """``line`` (cut at the first line end), ``block``, ``span`` or ``auto`` (the caller has no
    idea: a line canvas when the hole sits mid-line, a block canvas otherwise)."""
    length_control: bool = True
    """Trim unused slots (``[PAD]``). False: a fixed canvas of ``max_length`` slots that must all
    be filled with real tokens (the usual setting of published infill numbers)."""
    canvas_length: int | None = None
    """Force the canvas length (for an oracle-length evaluation)."""
    policy: str = "threshold"
    threshold: float = 0.9
    top_p: float = 1.0
    cache: str = "block"
    """``none``: every pass runs the whole window. ``block``: after a full pass, passes run only
    the hole's columns against the kept keys and values of the context (an approximation;
    models without the capability run every pass in full)."""
    cache_refresh: int = 0
    """With ``cache="block"``: a full pass every this many passes (0: only the first)."""
    window: int | None = None
    """Most tokens of the canvas (context and hole); ``None``: the model's whole window."""
    should_stop: Any = None
    """A callable checked between steps; True stops with :class:`GenerationCancelled`."""


class CodeDiffusion:
    """A :class:`~code_diffusion.engine.interface.CodeGenerationModel` over a denoiser."""

    def __init__(self, denoiser: Denoiser, info: ModelInfo) -> None:
        self.denoiser = denoiser
        self.info = info
        self.threads = pass_threads(denoiser)
        """Intra-op threads of each forward pass (see :func:`pass_threads`)."""

    # -- the interface ---------------------------------------------------------------------
    def generate(self, specification: str, language: str | None = None,
                 partial_code: PartialCode | str | None = None, *,
                 sampler: SamplerOptions | None = None, **params: Any) -> list[Candidate]:
        """The final ``num_samples`` candidates, best first by mean confidence."""
        steps = self.sample(specification, language, partial_code, sampler=sampler, **params)
        (last,) = deque(steps, maxlen=1)
        return list(last.candidates)

    def sample(self, specification: str, language: str | None = None,
               partial_code: PartialCode | str | None = None, *,
               sampler: SamplerOptions | None = None, **params: Any) -> Iterator[SampleStep]:
        """Yield the state after every denoising step; the last one carries the candidates.
        Closing the iterator between steps stops the work."""
        request = GenerationRequest(specification=specification, language=language,
                                    partial_code=partial_code, **params)
        return self._run(request, sampler or SamplerOptions())

    def generate_code(self, specification, language="python", partial_code=None,
                      max_length=512, num_samples=5, guidance_scale=1.5, temperature=0.7,
                      batch_size=4, precision="float32", device=None, use_rewards=True,
                      num_iterations=1):
        """The legacy entry point, with exactly its historical signature and defaults.
        Returns the candidates' texts, best first."""
        params = dict(max_length=max_length, num_samples=num_samples,
                      guidance_scale=guidance_scale, temperature=temperature,
                      batch_size=batch_size, precision=precision, device=device or "auto",
                      use_rewards=use_rewards, num_iterations=num_iterations)
        return [c.text for c in self.generate(specification, language, partial_code, **params)]

    # -- the sampler ---------------------------------------------------------------------------
    def _run(self, request: GenerationRequest, opts: SamplerOptions) -> Iterator[SampleStep]:
        self._check_placement(request)
        generator = None
        if request.seed is not None:
            generator = torch.Generator(device=self.denoiser.device).manual_seed(request.seed)
        canvas = build_canvas(self.denoiser, request, opts)
        rows_per_pass = max(1, request.batch_size // (2 if canvas.guided else 1))
        results: list[tuple[Candidate, Canvas, int]] = []
        passes = 0
        with torch.inference_mode():
            for first in range(0, request.num_samples, rows_per_pass):
                chunk = canvas.rows(list(range(first, min(request.num_samples,
                                                          first + rows_per_pass))))
                for _step in self._denoise(chunk, request, opts, generator):
                    passes += 1
                    yield SampleStep(step=passes, texts=tuple(chunk.texts()),
                                     masked=tuple(chunk.masked_counts()), forward_passes=passes)
                results.extend((c, chunk, row) for row, c in enumerate(chunk.candidates()))
            results.sort(key=lambda item: item[0].mean_confidence, reverse=True)
            candidates = [item[0] for item in results]
            for _ in range(request.num_iterations if results else 0):
                best, chunk, row = results[0]
                refined = canvas.refine_row(chunk, row)
                for _step in self._denoise(refined, request, opts, generator):
                    passes += 1
                better = refined.candidates()[0]
                if better.mean_confidence >= best.mean_confidence:
                    better = replace(better, forward_passes=best.forward_passes + refined.passes)
                    results[0] = (better, refined, 0)
                    candidates[0] = better
        yield SampleStep(step=passes + 1, texts=tuple(c.text for c in candidates),
                         masked=(0,) * len(candidates), forward_passes=passes,
                         candidates=tuple(candidates))

    def _denoise(self, chunk: Canvas, request: GenerationRequest, opts: SamplerOptions,
                 generator: torch.Generator | None) -> Iterator[int]:
        """Denoise ``chunk`` in place, one forward pass per yielded step."""
        policy = make_policy(opts.policy, opts.threshold)
        processors = self._processors(request, opts, chunk)
        scorers = [self._scorer(chunk, opts) for _ in range(2 if chunk.guided else 1)]
        for step in range(1, request.steps + 1):
            if opts.should_stop is not None and opts.should_stop():
                raise GenerationCancelled("generation cancelled between denoising steps")
            where = chunk.masked_positions()
            if not bool(where.any()):
                return
            with torch_threads(self.threads):
                logits = scorers[0](chunk.ids, where)  # (N, V): one row per masked slot
                if chunk.guided:
                    uncond = scorers[1](chunk.unconditional_ids(), where)
                    logits = classifier_free_guidance(logits, uncond, request.guidance_scale)
                tokens, confidence = draw(processors(logits), request.temperature, generator)
                self._commit(chunk, where, tokens, confidence, policy,
                             request.steps - step + 1)
            chunk.passes += 1
            yield step

    def _scorer(self, chunk: Canvas, opts: SamplerOptions):
        """``(ids, where) -> logits`` for one branch of the chunk, with its own block cache
        when ``opts.cache`` asks for one and the denoiser has the capability."""
        if opts.cache not in ("none", "block"):
            raise InvalidRequestError("cache", f"cache must be 'none' or 'block', got "
                                               f"{opts.cache!r}")
        if opts.cache == "none" or not getattr(self.denoiser, "supports_block_cache", False):
            return self.denoiser.logits_at
        from code_diffusion.engine.adapters.masked_lm import BlockCache

        cache = BlockCache(chunk.start, chunk.start + chunk.width, max(0, opts.cache_refresh))
        return lambda ids, where: self.denoiser.cached_logits_at(ids, where, cache)

    @staticmethod
    def _commit(chunk: Canvas, where: torch.Tensor, tokens: torch.Tensor,
                confidence: torch.Tensor, policy: CommitPolicy, steps_left: int) -> None:
        """Commit the slots ``policy`` picks in each row, then end rows early where the rest of
        the hole is past the completion (see :func:`trailing_fill`).

        An end token (``[PAD]``, ``[EOS]``) is only committed at the leftmost masked slot: the
        completion's length is decided left to right. Otherwise the far end of a canvas, where
        ``[PAD]`` is the most confident guess, fills first and the pads creep left until the
        hole is empty.
        """
        offset = 0
        for row in range(chunk.ids.shape[0]):
            positions = where[row].nonzero().squeeze(-1)
            count = positions.numel()
            if count == 0:
                continue
            eligible = confidence[offset : offset + count].clone()
            ends = torch.isin(tokens[offset : offset + count], chunk.end_tokens)
            ends[0] = False  # the leftmost masked slot may end the completion
            eligible[ends] = -1.0
            picked = policy(eligible, steps_left)
            chunk.commit(row, positions[picked], tokens[offset + picked],
                         confidence[offset + picked])
            filled = trailing_fill(chunk.hole_tokens(row), chunk.pad_id, chunk.cut_tokens)
            chunk.fill_pad(row, filled)
            offset += count

    def _processors(self, request: GenerationRequest, opts: SamplerOptions,
                    chunk: Canvas) -> LogitsProcessorList:
        ids = self.denoiser.ids
        never = [ids.mask, ids.bos]
        if not chunk.allow_pad:
            never.append(ids.pad)
        if not chunk.allow_eos:
            never.append(ids.eos)
        processors = LogitsProcessorList([SuppressTokens(never)])
        if request.temperature > 0:
            processors.append(TemperatureWarper(request.temperature))
            if opts.top_p < 1:
                processors.append(TopPWarper(opts.top_p))
        return processors

    def _check_placement(self, request: GenerationRequest) -> None:
        """A request cannot move the loaded model: name the mismatch and the fix."""
        device = self.denoiser.device
        if request.device != "auto" and torch.device(request.device) != device and not (
                request.device == "cuda" and device.type == "cuda"):
            raise InvalidRequestError(
                "device", f"device={request.device!r} but the model is loaded on {device}; "
                "reload the model with that device (CLI --device, setting codeDiffusion.device)")
        loaded = str(self.denoiser.dtype).removeprefix("torch.")
        if request.precision not in ("auto", "float32", loaded):
            raise InvalidRequestError(
                "precision", f"precision={request.precision!r} but the model is loaded in "
                f"{loaded}; reload it with that precision (CLI --precision, setting "
                "codeDiffusion.precision)")
