"""Fill the holes of several requests in one forward pass per denoising step.

:class:`~code_diffusion.engine.diffusion.CodeDiffusion` fills one request (its rows share one
context). Requests from different editors have different contexts of different lengths; here
each request gets its own canvas (the engine's :func:`build_canvas`, with the request's own
:class:`~code_diffusion.engine.options.SamplerOptions`), and every step stacks the rows of all
unfinished requests into one right-padded tensor with an attention mask, runs the encoder once,
and hands each request its slice of the logits to draw and commit with the engine's own rules
(:func:`~code_diffusion.engine.diffusion.decide_step`). Requests finish on their own step;
their rows leave the batch.

Whether a model can do this is a capability of its denoiser (``supports_padding``: the engine's
ModernBERT module, and transformers' BERT, RoBERTa and ModernBERT). A model without it fills
the requests one after the other, and :attr:`BatchFiller.sequential` counts them, so that the
fallback is visible. With ``cache`` and a denoiser that keeps keys and values of padded rows
(``supports_padded_block_cache``), passes after the first recompute only the columns that hold
some request's hole (the block cache of ``SamplerOptions.cache``, shared by the batch); when
the model's positions are relative (``supports_left_padding``: rotary), each request's rows are
shifted right so that all the holes start at one column and those columns are the holes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from code_diffusion.engine.adapters.masked_lm import BlockCache
from code_diffusion.engine.canvas import Canvas, build_canvas
from code_diffusion.engine.diffusion import StepRules, decide_step, torch_threads
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.sampling import make_policy
from code_diffusion.engine.types import GenerationRequest, PartialCode


@dataclass
class Job:
    """One completions request, in the engine's terms."""

    prompt: str
    suffix: str = ""
    max_tokens: int = 48
    temperature: float = 0.0
    n: int = 1
    steps: int = 8
    threshold: float = 0.9
    seed: int | None = None
    stop: tuple[str, ...] = ()
    hole: dict[str, Any] = field(default_factory=dict)
    """The hole's shape as the remote backend sends it (``code_diffusion``: ``kind``,
    ``healed_break``, ``span_chars``, ``canvas_length``, ``length_control``, ``preamble``); empty
    for a client that says nothing: a block canvas (see :meth:`options`)."""
    texts: list[str] = field(default_factory=list)
    """Filled in by :meth:`BatchFiller.fill`: ``n`` texts, most confident first."""

    def request(self) -> GenerationRequest:
        return GenerationRequest(partial_code=PartialCode(self.prompt, self.suffix),
                                 max_length=self.max_tokens, num_samples=self.n,
                                 batch_size=max(self.n, 1), temperature=self.temperature,
                                 steps=self.steps, seed=self.seed)

    def options(self, cache: bool) -> SamplerOptions:
        # A client that does not say the hole's shape sends a prefix without the whitespace it
        # ended with (it moves it into the hole): a block canvas lets the model write the line
        # break first; the client cuts the text to its hole.
        hole = {"kind": "block", **self.hole}
        return SamplerOptions(threshold=self.threshold, cache="block" if cache else "none",
                              **hole)


def can_batch(model: Any) -> bool:
    """True when the model's requests can share a padded forward pass."""
    return bool(getattr(getattr(model, "denoiser", None), "supports_padding", False))


class BatchFiller:
    """Runs a list of :class:`Job` together on one model (a ``CodeDiffusion`` to batch)."""

    def __init__(self, model: Any, *, cache: bool = True, batch_threads: int = 0) -> None:
        self.model = model
        self.batch_threads = batch_threads
        """Intra-op threads of a pass over more than one request (0: the model's own)."""
        self.denoiser = getattr(model, "denoiser", None)
        self.cache = cache and bool(getattr(self.denoiser, "supports_padded_block_cache",
                                            False))
        """Passes after a batch's first recompute only the hole columns (block cache)."""
        self.passes = 0
        """Padded forward passes run so far (one per step of a batch)."""
        self.sequential = 0
        """Requests filled one after the other because the model cannot batch."""

    def fill(self, jobs: list[Job]) -> list[Job]:
        """Fill every job's ``texts``; one forward pass per step for all of them."""
        if not can_batch(self.model):
            for job in jobs:
                found = self.model.generate("", None, PartialCode(job.prompt, job.suffix),
                                            sampler=job.options(cache=True), **_params(job))
                job.texts = [_cut(c.text, job.stop) for c in found]
                self.sequential += 1
            return jobs
        threads = self.batch_threads if len(jobs) > 1 and self.batch_threads else None
        with torch.inference_mode(), torch_threads(threads or self.model.threads):
            states = [_State(job, job.options(self.cache), self) for job in jobs]
            _Batch(self, states).run()
        for state in states:
            ranked = sorted(state.chunk.candidates(), key=lambda c: c.mean_confidence,
                            reverse=True)
            state.job.texts = [_cut(c.text, state.job.stop) for c in ranked]
        return jobs


class _Batch:
    """The stacked, right-padded rows of every request of one fill, step by step."""

    def __init__(self, filler: BatchFiller, states: list[_State]) -> None:
        self.filler, self.states = filler, states
        self.denoiser = filler.denoiser
        self.pad = self.denoiser.ids.pad if self.denoiser.ids.pad is not None else 0
        # With the cache, a model whose positions are relative (rotary) gets its rows shifted
        # right so that every hole starts at the same column: the block pass then recomputes
        # the holes only, not the prefixes of the requests whose prefix is shorter.
        align = filler.cache and getattr(self.denoiser, "supports_left_padding", False)
        first = max(s.chunk.start for s in states) if align else 0
        self.shift = {id(s): first - s.chunk.start if align else 0 for s in states}
        self.width = max(self.shift[id(s)] + s.chunk.ids.shape[1] for s in states)
        # the columns that hold some request's hole: what a block pass recomputes
        start = min(self.shift[id(s)] + s.chunk.start for s in states)
        end = max(self.shift[id(s)] + s.chunk.start + s.chunk.width for s in states)
        self.cache = BlockCache(start, end) if filler.cache else None
        self.rows = states

    def run(self) -> None:
        while active := [s for s in self.states if s.running()]:
            if len(active) < len(self.rows):
                self._drop(active)
            self._step(active)

    def _drop(self, active: list[_State]) -> None:
        """Finished requests leave the batch, and their rows leave the cache."""
        if self.cache is not None and self.cache.layers is not None:
            keep, offset = [], 0
            for state in self.rows:
                count = state.chunk.ids.shape[0]
                if state in active:
                    keep.extend(range(offset, offset + count))
                offset += count
            self.cache.keep_rows(torch.tensor(keep, device=self.denoiser.device))
        self.rows = active

    def _step(self, active: list[_State]) -> None:
        ids, mask, where = [], [], []
        device = self.denoiser.device
        for state in active:
            rows, length = state.chunk.ids.shape
            sides = (self.shift[id(state)], self.width - length - self.shift[id(state)])
            ids.append(torch.nn.functional.pad(state.chunk.ids, sides, value=self.pad))
            mask.append(torch.nn.functional.pad(
                torch.ones(rows, length, dtype=torch.long, device=device), sides))
            where.append(torch.nn.functional.pad(state.chunk.masked_positions(), sides))
        stacked, attention, positions = torch.cat(ids), torch.cat(mask), torch.cat(where)
        if self.cache is None:
            logits = self.denoiser.padded_logits_at(stacked, attention, positions)
        else:
            logits = self.denoiser.cached_logits_at(stacked, positions, self.cache,
                                                    attention_mask=attention)
        self.filler.passes += 1
        offset = 0
        for state, slots in zip(active, where, strict=True):
            count = int(slots.sum())
            shift = self.shift[id(state)]
            state.commit(slots[:, shift : shift + state.chunk.ids.shape[1]],
                         logits[offset : offset + count])
            offset += count


class _State:
    """One job's canvas and its progress through the steps."""

    def __init__(self, job: Job, options: SamplerOptions, filler: BatchFiller) -> None:
        self.job, self.options, self.filler = job, options, filler
        self.request = job.request()
        template = build_canvas(filler.denoiser, self.request, options)
        self.chunk: Canvas = template.rows(list(range(job.n)))
        self.ranks = template.repeat_ranks(list(range(job.n))) if options.distinct_rows else None
        self.policy = make_policy(options.policy, options.threshold)
        self.processors = filler.model._processors(self.request, options, self.chunk)
        self.generator = (None if job.seed is None else
                          torch.Generator(device=filler.denoiser.device).manual_seed(job.seed))
        self.step = 0

    def running(self) -> bool:
        return self.step < self.request.steps and bool(self.chunk.masked_positions().any())

    def commit(self, where: torch.Tensor, logits: torch.Tensor) -> None:
        self.step += 1
        decide_step(self.chunk, where, logits, StepRules(self.request, self.options,
                                                         self.processors, self.policy,
                                                         self.generator, self.ranks), self.step)
        self.chunk.passes += 1


def _params(job: Job) -> dict:
    request = job.request()
    return {"max_length": request.max_length, "num_samples": request.num_samples,
            "batch_size": request.batch_size, "temperature": request.temperature,
            "steps": request.steps, "seed": request.seed}


def _cut(text: str, stop: tuple[str, ...]) -> str:
    """``text`` up to the first stop sequence (OpenAI's ``stop``)."""
    for sequence in stop:
        if sequence and sequence in text:
            text = text[: text.index(sequence)]
    return text
