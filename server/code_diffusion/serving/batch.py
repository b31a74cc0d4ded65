"""Fill the holes of several requests in one forward pass per denoising step.

:class:`~code_diffusion.engine.diffusion.CodeDiffusion` fills one request (its rows share one
context). Requests from different editors have different contexts of different lengths; here
each request gets its own canvas (the engine's :func:`build_canvas`), and every step stacks the
rows of all unfinished requests into one right-padded tensor with an attention mask, runs the
encoder once, and hands each request its slice of the logits to draw and commit with the
engine's own rules (:meth:`Canvas.commit_step`). Requests finish on their own step.

Only masked-LM families (the embedded model, BERT, RoBERTa, ModernBERT) have a padded path
here; :func:`can_batch` says so, and other models fill the requests one after the other.
The block cache is not used on the padded path (every pass runs the whole window).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from code_diffusion.engine.adapters.masked_lm import _HEADS
from code_diffusion.engine.canvas import Canvas, build_canvas
from code_diffusion.engine.diffusion import CodeDiffusion, torch_threads
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.sampling import draw, make_policy
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
    texts: list[str] = field(default_factory=list)
    """Filled in by :meth:`BatchFiller.fill`: ``n`` texts, most confident first."""

    def request(self) -> GenerationRequest:
        return GenerationRequest(partial_code=PartialCode(self.prompt, self.suffix),
                                 max_length=self.max_tokens, num_samples=self.n,
                                 batch_size=max(self.n, 1), temperature=self.temperature,
                                 steps=self.steps, seed=self.seed)


def can_batch(model: CodeDiffusion) -> bool:
    """True when the model's requests can share a padded forward pass."""
    return type(model.denoiser.model).__name__ in _HEADS


class BatchFiller:
    """Runs a list of :class:`Job` together on one :class:`CodeDiffusion`."""

    def __init__(self, model: CodeDiffusion) -> None:
        self.model = model
        self.denoiser = model.denoiser
        self.passes = 0
        """Padded forward passes run so far (one per step of a batch)."""

    def fill(self, jobs: list[Job]) -> list[Job]:
        """Fill every job's ``texts``; one forward pass per step for all of them."""
        if not can_batch(self.model):
            for job in jobs:
                found = self.model.generate("", None, PartialCode(job.prompt, job.suffix),
                                            sampler=self._options(job), **_params(job))
                job.texts = [_cut(c.text, job.stop) for c in found]
            return jobs
        with torch.inference_mode(), torch_threads(self.model.threads):
            states = [_State(job, self._options(job), self) for job in jobs]
            while active := [s for s in states if s.running()]:
                self._step(active)
        for state in states:
            ranked = sorted(state.chunk.candidates(), key=lambda c: c.mean_confidence,
                            reverse=True)
            state.job.texts = [_cut(c.text, state.job.stop) for c in ranked]
        return jobs

    def _options(self, job: Job) -> SamplerOptions:
        # A request says nothing of the hole's shape, and its prefix arrives without the
        # whitespace it ended with (the client moves it into the hole): a block canvas lets
        # the model write the line break first; the client cuts the text to its hole.
        return SamplerOptions(kind="block", threshold=job.threshold, cache="none")

    def _step(self, active: list[_State]) -> None:
        pad = self.denoiser.ids.pad if self.denoiser.ids.pad is not None else 0
        width = max(s.chunk.ids.shape[1] for s in active)
        ids, mask, where = [], [], []
        for state in active:
            rows, length = state.chunk.ids.shape
            ids.append(torch.nn.functional.pad(state.chunk.ids, (0, width - length), value=pad))
            mask.append(torch.nn.functional.pad(torch.ones(rows, length, dtype=torch.long),
                                                (0, width - length)))
            where.append(torch.nn.functional.pad(state.chunk.masked_positions(),
                                                 (0, width - length)))
        device = self.denoiser.device
        logits = self._logits(torch.cat(ids), torch.cat(mask).to(device), torch.cat(where))
        self.passes += 1
        offset = 0
        for state, positions in zip(active, where, strict=True):
            count = int(positions.sum())
            state.commit(positions[:, : state.chunk.ids.shape[1]],
                         logits[offset : offset + count])
            offset += count

    def _logits(self, ids: torch.Tensor, mask: torch.Tensor, where: torch.Tensor
                ) -> torch.Tensor:
        model = self.denoiser.model
        attribute, head = _HEADS[type(model).__name__]
        hidden = getattr(model, attribute)(input_ids=ids, attention_mask=mask)[0]
        return head(model, hidden[where]).float()


class _State:
    """One job's canvas and its progress through the steps."""

    def __init__(self, job: Job, options: SamplerOptions, filler: BatchFiller) -> None:
        self.job, self.options, self.filler = job, options, filler
        self.request = job.request()
        template = build_canvas(filler.denoiser, self.request, options)
        self.chunk: Canvas = template.rows(list(range(job.n)))
        self.policy = make_policy(options.policy, options.threshold)
        self.processors = filler.model._processors(self.request, options, self.chunk)
        self.generator = (None if job.seed is None else
                          torch.Generator(device=filler.denoiser.device).manual_seed(job.seed))
        self.step = 0

    def running(self) -> bool:
        return self.step < self.request.steps and bool(self.chunk.masked_positions().any())

    def commit(self, where: torch.Tensor, logits: torch.Tensor) -> None:
        self.step += 1
        tokens, confidence = draw(self.processors(logits), self.request.temperature,
                                  self.generator)
        self.chunk.commit_step(where, tokens, confidence, self.policy,
                               self.request.steps - self.step + 1)
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
