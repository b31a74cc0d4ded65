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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import torch

from code_diffusion.engine.adapters.base import Denoiser
from code_diffusion.engine.adapters.masked_lm import BlockCache
from code_diffusion.engine.canvas import Canvas, build_canvas
from code_diffusion.engine.context.prior import CachePriorProcessor, slot_contexts
from code_diffusion.engine.drafting import draft_canvas, remask, token_probabilities
from code_diffusion.engine.errors import GenerationCancelled, InvalidRequestError
from code_diffusion.engine.interface import ModelAdapter, ModelInfo, SampleStep
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.repetition import HoleRepetitionPenalty, hole_words
from code_diffusion.engine.sampling import (
    CommitPolicy,
    LogitsProcessorList,
    SuppressTokens,
    TemperatureWarper,
    TopPWarper,
    classifier_free_guidance,
    draw,
    make_policy,
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


def prior_processor(chunk: Canvas, where: torch.Tensor,
                    opts: SamplerOptions) -> CachePriorProcessor:
    """The cache prior for this step's masked slots (row-major, as ``where`` orders them)."""
    contexts: list[list[int]] = []
    mask = chunk.denoiser.ids.mask
    for row in range(chunk.ids.shape[0]):
        positions = where[row].nonzero().squeeze(-1).tolist()
        contexts += slot_contexts(chunk.ids[row].tolist(), positions, mask, opts.prior.order)
    return CachePriorProcessor(opts.prior, contexts, opts.prior_weight)


@dataclass(frozen=True)
class StepRules:
    """What decides a step's commits besides the logits: the request, its options, the logits
    processors, the commit policy, the random generator and the rows' ranks (for
    ``opts.distinct_rows``; ``None``: every row greedy)."""

    request: GenerationRequest
    opts: SamplerOptions
    processors: LogitsProcessorList
    policy: CommitPolicy
    generator: torch.Generator | None = None
    ranks: list[int] | None = None


def decide_step(chunk: Canvas, where: torch.Tensor, logits: torch.Tensor, rules: StepRules,
                step: int) -> None:
    """Step ``step`` (from 1) of ``chunk`` from its ``(N, V)`` logits at ``where``: the cache
    prior and the repetition penalty when the options ask for them, the processors, one draw
    per slot, the alternative first commits of :meth:`Canvas.commit_alternatives` on the first
    step of a greedy request (sampling makes the rows differ already), then the policy's
    commits. Shared by the sampler and the serving batch."""
    opts, request = rules.opts, rules.request
    if opts.prior is not None and opts.prior_weight > 0:
        logits = prior_processor(chunk, where, opts)(logits)
    if opts.repetition_penalty > 1:
        logits = HoleRepetitionPenalty.for_canvas(
            chunk, hole_words(chunk.denoiser), opts.repetition_penalty,
            opts.repetition_free)(logits)
    logits = no_empty_hole(chunk, where, rules.processors(logits))
    tokens, confidence = draw(logits, request.temperature, rules.generator)
    if rules.ranks is not None and step == 1 and request.temperature == 0 and any(rules.ranks):
        keep = chunk.commit_alternatives(where, logits, rules.ranks)
        where, tokens, confidence = _kept(where, keep), tokens[keep], confidence[keep]
    chunk.commit_step(where, tokens, confidence, rules.policy, request.steps - step + 1)


def no_empty_hole(chunk: Canvas, where: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The hole's first slot, while masked, cannot end the completion: an end token there
    (or, in a one-line hole, a token with a line break, where the line is cut) leaves the hole
    empty, which the checks always refuse, so every row writes at least one token.
    ``logits`` are ``(N, V)``, row-major over ``where``."""
    first = where.nonzero()[:, 1] == chunk.start
    if bool(first.any()):
        logits = logits.clone()
        rows = first.nonzero().squeeze(-1).to(logits.device)
        logits[rows.unsqueeze(-1), chunk.first_slot_bans().to(logits.device)] = float("-inf")
    return logits


def _kept(where: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """``where`` without the masked slots ``keep`` drops (``keep`` is row-major over it)."""
    out = where.clone()
    dropped = where.nonzero()[~keep.to(where.device)]
    out[dropped[:, 0], dropped[:, 1]] = False
    return out


class CodeDiffusion(ModelAdapter):
    """A :class:`~code_diffusion.engine.interface.CodeGenerationModel` over a denoiser.

    ``generate`` and ``sample`` (from :class:`ModelAdapter`) build the request once and run
    :meth:`stream`; the generator calls :meth:`stream` with the request it built.
    """

    accepts_preamble = True
    accepts_prior = True
    judges_drafts = True
    judge_mode = "masked"
    """How :meth:`judge` scores a draft (``drafting.JUDGE_MODES``)."""

    def __init__(self, denoiser: Denoiser, info: ModelInfo) -> None:
        self.denoiser = denoiser
        self.info = info
        self.threads = pass_threads(denoiser)
        """Intra-op threads of each forward pass (see :func:`pass_threads`)."""

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        """Yield the state after every denoising step; the last one carries the candidates,
        best first by mean confidence. Closing the iterator between steps stops the work."""
        return self._run(request, options)

    def token_counter(self) -> Callable[[str], list[int]]:
        return self.denoiser.encode

    def judge(self, request: GenerationRequest, options: SamplerOptions,
              texts: Sequence[str]) -> list[tuple[float, ...]]:
        """Each text's token probabilities in the hole, all texts in one forward pass."""
        self._check_placement(request)
        with torch.inference_mode(), torch_threads(self.threads):
            canvas, tokens = draft_canvas(self.denoiser, request, options, texts)
            found = token_probabilities(self.denoiser, canvas, tokens,
                                        masked=self.judge_mode == "masked")
        return [tuple(p) for p in found]

    def edit(self, request: GenerationRequest, options: SamplerOptions, texts: Sequence[str],
             threshold: float) -> list[Candidate]:
        """Each text on the canvas, its tokens under ``threshold`` (as the model sees them with
        the text visible) masked again and denoised: one pass to judge, then the sampler's."""
        self._check_placement(request)
        with torch.inference_mode():
            with torch_threads(self.threads):
                canvas, tokens = draft_canvas(self.denoiser, request, options, texts)
                found = token_probabilities(self.denoiser, canvas, tokens, masked=False)
            remask(canvas, tokens, found, threshold)
            canvas.passes = 1
            for _step in self._denoise(canvas, request, options, None):
                pass
        return canvas.candidates()

    def generate_code(self, specification: str, language: str = "python",
                      partial_code: PartialCode | str | None = None, max_length: int = 512,
                      num_samples: int = 5, guidance_scale: float = 1.5,
                      temperature: float = 0.7, batch_size: int = 4,
                      precision: str = "float32", device: str | None = None,
                      use_rewards: bool = True, num_iterations: int = 1) -> list[str]:
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
                rows = list(range(first, min(request.num_samples, first + rows_per_pass)))
                chunk = canvas.rows(rows)
                ranks = canvas.repeat_ranks(rows) if opts.distinct_rows else None
                for _step in self._denoise(chunk, request, opts, generator, ranks):
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
                 generator: torch.Generator | None,
                 ranks: list[int] | None = None) -> Iterator[int]:
        """Denoise ``chunk`` in place, one forward pass per yielded step. ``ranks``: for
        ``opts.distinct_rows``, each row's :meth:`CanvasTemplate.repeat_ranks` (a row of rank
        ``k`` > 0 starts from its ``k``-th alternative first commit, see
        :meth:`Canvas.commit_alternatives`)."""
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
                decide_step(chunk, where, logits, StepRules(request, opts, processors, policy,
                                                            generator, ranks), step)
            chunk.passes += 1
            yield step

    def _scorer(self, chunk: Canvas, opts: SamplerOptions):
        """``(ids, where) -> logits`` for one branch of the chunk, with its own block cache
        when ``opts.cache`` asks for one and the denoiser has the capability."""
        if opts.cache == "none" or not getattr(self.denoiser, "supports_block_cache", False):
            return self.denoiser.logits_at
        cache = BlockCache(chunk.start, chunk.start + chunk.width, max(0, opts.cache_refresh))
        return lambda ids, where: self.denoiser.cached_logits_at(ids, where, cache)

    def _processors(self, request: GenerationRequest, opts: SamplerOptions,
                    chunk: Canvas) -> LogitsProcessorList:
        processors = LogitsProcessorList([SuppressTokens(chunk.suppressed())])
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
