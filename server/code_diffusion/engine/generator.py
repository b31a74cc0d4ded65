"""``CodeGenerator``: from a buffer and a hole to ranked candidates, through the interface only.

It builds the request and the :class:`~code_diffusion.engine.options.SamplerOptions` once
(prefix and suffix around the hole; the model's own window is cut from them), streams them
through the adapter's :meth:`~code_diffusion.engine.interface.ModelAdapter.stream` (the same
call for every adapter), post-processes (cut at the hole's end, drop text that repeats the
suffix, carry auto-closed characters once) and, with ``use_rewards``, scores and ranks. When no
candidate passes, it raises :class:`GenerationError` listing each candidate's failed checks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from code_diffusion.engine.adapt import as_code_generation_model
from code_diffusion.engine.chance import Calibration, chance, typed_before
from code_diffusion.engine.context import (
    Context,
    ContextOptions,
    WorkspaceIndex,
    assemble_context,
)
from code_diffusion.engine.context.candidates import (
    cliff_head,
    collapse,
    distinct_drafts,
    draft_candidate,
    draft_rank,
)
from code_diffusion.engine.errors import (
    GenerationCancelled,
    GenerationError,
    InvalidRequestError,
)
from code_diffusion.engine.interface import (
    CodeGenerationModel,
    ModelAdapter,
    ModelInfo,
    SampleStep,
)
from code_diffusion.engine.languages import closers_end, with_closers
from code_diffusion.engine.options import HOLE_KINDS, SamplerOptions
from code_diffusion.engine.rewards import Hole, score, trim
from code_diffusion.engine.types import Candidate, GenerationRequest, PartialCode

log = logging.getLogger(__name__)

BLOCK_OPENERS = (":", "{", "(", "[", "=>", "->", "do", "then")


@dataclass(frozen=True)
class FillResult:
    """The outcome of one fill: ranked candidates for ``text[start:end]``."""

    candidates: tuple[Candidate, ...]
    """The ones that pass the checks first (best first), then the ones that failed, each with
    its ``problems``; each stripped text once (so at most ``num_samples`` without context, plus
    the offered drafts with it). Each says where it came from (``origin``, ``source``) and the
    passes it took (``forward_passes``)."""
    start: int
    end: int
    """With ``closers``, past the auto-closed characters the candidates carry."""
    kind: str
    """The hole's shape as used: ``line``, ``block`` or ``span``."""
    forward_passes: int
    elapsed_ms: float
    request: GenerationRequest

    def passing(self) -> list[Candidate]:
        """The candidates that passed every check, without duplicates, best first."""
        seen: set[str] = set()
        out = []
        for candidate in self.candidates:
            if not candidate.problems and candidate.text not in seen:
                seen.add(candidate.text)
                out.append(candidate)
        return out


def hole_kind(text: str, start: int, end: int, requested: str = "auto") -> str:
    """``auto`` resolved from the buffer: a selection is a span; a cursor on an empty line
    after a block opener (``def f():``) is a block; anything else is a line."""
    if requested not in HOLE_KINDS:
        raise InvalidRequestError("hole", f"hole must be one of {', '.join(HOLE_KINDS)}, "
                                          f"got {requested!r}")
    if requested != "auto":
        return requested
    if end > start:
        return "span"
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    if line.strip():
        return "line"
    above = text[:line_start].rstrip().rsplit("\n", 1)[-1].rstrip()
    return "block" if above.endswith(BLOCK_OPENERS) else "line"


class CodeGenerator:
    """Fills holes in buffers with any model the adapter layer accepts."""

    def __init__(self, model: CodeGenerationModel | Any) -> None:
        self.model: ModelAdapter = as_code_generation_model(model)
        self._lock = threading.Lock()
        self._noted: set[str] = set()
        raw = (getattr(self.model.info, "extra", None) or {}).get("calibration")
        self._calibration = None if raw is None else Calibration.from_json(
            raw, f"{self.model.info.name}: calibration")

    @property
    def info(self) -> ModelInfo:
        return self.model.info

    def fill(self, text: str, start: int, end: int | None = None, *,
             language: str | None = None, specification: str = "", hole: str = "auto",
             length_control: bool = True, canvas_length: int | None = None,
             sampler: SamplerOptions | None = None, closers: bool = False,
             on_step: Callable[[SampleStep], None] | None = None,
             should_stop: Callable[[], bool] | None = None, require_passing: bool = True,
             path: str | None = None, workspace: WorkspaceIndex | None = None,
             context: ContextOptions | None = None, **params: Any) -> FillResult:
        """Fill ``text[start:end]`` (an insertion at ``start`` when ``end`` is None).

        ``hole`` is the hole's kind (``auto``, ``line``, ``block``, ``span``); ``params`` are
        :class:`GenerationRequest` fields and ``sampler`` the base :class:`SamplerOptions` (the
        hole's kind, size and canvas rules are set here from the buffer). With ``closers``, an
        insertion followed by nothing but auto-closed characters on its line (``print(|)``)
        replaces them: the result's ``end`` is past them and each candidate carries them once.
        Raises :class:`GenerationCancelled` when ``should_stop()`` turns true between steps,
        and :class:`GenerationError` with every candidate's failed checks when none passes
        (unless ``require_passing`` is false: then the result holds them, with their problems).

        ``context`` turns context assembly on (``None``: the model alone, on the local window):
        drafts from the document (``path`` names it) and, with ``context.workspace``, from
        ``workspace``'s other files are offered as candidates (``origin="draft"``) and ranked
        with the denoised ones; the snippets go ahead of the local prefix and the cache prior
        into the logits, for a model that accepts them (:attr:`ModelAdapter.accepts_preamble`).
        Safe to call from one thread while another updates ``workspace`` when the index
        guards its own state.
        """
        end = start if end is None else end
        _check_offsets(text, start, end)
        kind = hole_kind(text, start, end, hole)
        view_prefix, moved = heal_prefix(text[:start])
        request = GenerationRequest(specification=specification, language=language,
                                    partial_code=PartialCode(view_prefix, text[end:]),
                                    **params)
        options = replace(sampler or SamplerOptions(), kind=kind, length_control=length_control,
                          canvas_length=canvas_length, span_chars=end - start,
                          healed_break=kind == "line" and "\n" in moved,
                          should_stop=should_stop)
        began = time.perf_counter()
        edit_end = closers_end(text, end) if closers and end == start else end
        tail = text[end:edit_end]
        target = Hole(text, start, edit_end, kind, language)
        found = None
        if context is not None:
            found = self._assemble(text, start, end, path, workspace, context, target)
            options = self._with_context(options, found)
        final = self._run(request, options, on_step, should_stop)
        ranked, passes = self._rank(final, found, context, request, options, target,
                                    (moved, tail))
        if require_passing and all(c.problems for c in ranked):
            raise GenerationError(
                f"no candidate passed the checks ({len(ranked)} generated)",
                [f"{c.text!r}: {', '.join(c.problems)}" for c in ranked])
        return FillResult(candidates=tuple(ranked), start=start, end=edit_end, kind=kind,
                          forward_passes=passes,
                          elapsed_ms=(time.perf_counter() - began) * 1000, request=request)

    def _rank(self, final: SampleStep, found: Context | None, context: ContextOptions | None,
              request: GenerationRequest, options: SamplerOptions, target: Hole,
              around: tuple[str, str]) -> tuple[list[Candidate], int]:
        """The model's candidates post-processed (cut at the cliff when asked), the drafts
        added when there is context, all scored, ranked and collapsed; and the passes spent."""
        moved, tail = around
        raw = list(final.candidates)
        if context is not None and context.cliff and target.kind == "line":
            raw = [cut_at_cliff(c, context.cliff_threshold) for c in raw]
        trimmed = [replace(c, text=with_closers(trim(unheal(c.text, moved), target), tail))
                   for c in raw]
        passes = final.forward_passes
        weights = None
        if found is not None and context is not None:
            extra, passes = self._draft_candidates(found, context, request, options, target,
                                                   around, passes)
            trimmed += extra
            weights = {"retrieval": context.retrieval_weight, "judge": context.judge_weight,
                       "bias": context.draft_bias, "overlap": context.draft_overlap_weight}
        ranked = collapse(score(trimmed, target, request.use_rewards, weights))
        typed = typed_before(target.text, target.start)
        return [replace(c, chance=chance(c, typed, self._calibration)) for c in ranked], passes

    # -- context ---------------------------------------------------------------------------------
    def _assemble(self, text: str, start: int, end: int, path: str | None,
                  workspace: WorkspaceIndex | None, context: ContextOptions,
                  target: Hole) -> Context:
        """Context assembly; a model that does not accept a preamble or a prior (see
        :attr:`ModelAdapter.accepts_preamble`, ``accepts_prior``) gets the rest, and the drafts
        ranked by their retrieval evidence (what it lacks is said once in the log)."""
        encode = self.model.token_counter()
        if not self.model.accepts_preamble and context.snippet_budget > 0:
            self._note_once("preamble", "%s does not accept a preamble: it gets no snippets",
                            self.info.name)
            context = replace(context, snippet_budget=0)
        if not self.model.accepts_prior and context.prior_weight > 0:
            self._note_once("prior", "%s does not accept a cache prior: it gets none",
                            self.info.name)
            context = replace(context, prior_weight=0.0)
        return assemble_context(
            text, start, end, path=path, language=target.language,
            index=workspace if context.workspace else None, options=context,
            hole=target.kind if target.kind in ("line", "block") else "auto",
            count_tokens=None if encode is None else (lambda t: len(encode(t))),
            encode=encode if context.prior_weight > 0 else None)

    def _with_context(self, options: SamplerOptions, found: Context) -> SamplerOptions:
        """The options with the preamble and the prior (empty for a model that does not
        accept them: assembly made none)."""
        if self.model.accepts_preamble:
            options = replace(options, preamble=found.preamble)
        if self.model.accepts_prior and found.prior is not None:
            options = replace(options, prior=found.prior, prior_weight=found.prior_weight)
        return options

    def _draft_candidates(self, found: Context, context: ContextOptions,
                          request: GenerationRequest, options: SamplerOptions, target: Hole,
                          around: tuple[str, str], passes: int) -> tuple[list[Candidate], int]:
        """The offered drafts as candidates (judged by the model where it can), plus the
        edited best draft with ``context.edit_drafts`` (ranked just above the draft it edits);
        and the passes spent in all.
        ``around``: the whitespace the prefix lost to the hole (see :func:`heal_prefix`) and
        the auto-closed characters the candidates carry."""
        moved, tail = around
        pairs = distinct_drafts(found.drafts, [trim(d.text, target) for d in found.drafts])
        judged: list[tuple[float, ...] | None] = [None] * len(pairs)
        judging = self.model.judges_drafts and bool(pairs) and (
            context.judge_weight > 0 or context.edit_drafts)
        if judging:
            judged = list(self.model.judge(request, options, [moved + t for _, t in pairs]))
            passes += 1
        made = sorted(((draft_candidate(d, with_closers(t, tail), j, order), t)
                       for order, ((d, t), j) in enumerate(zip(pairs, judged, strict=True))),
                      key=lambda pair: draft_rank(pair[0].rewards, {
                          "retrieval": context.retrieval_weight,
                          "judge": context.judge_weight}), reverse=True)
        offered = [c for c, _ in made[: context.offered_drafts]]
        if context.edit_drafts and judging and made:
            best, raw = made[0]
            edited = self.model.edit(request, options, [moved + raw], context.edit_threshold)
            passes += sum(c.forward_passes for c in edited)
            offered += [replace(c, text=with_closers(trim(unheal(c.text, moved), target), tail),
                                origin="edited_draft", source=best.source,
                                rewards={**best.rewards, "order": -1.0}) for c in edited]
        return offered, passes

    def _note_once(self, key: str, message: str, *args: Any) -> None:
        with self._lock:
            if key in self._noted:
                return
            self._noted.add(key)
        log.info(message, *args)

    def from_specification(self, specification: str, language: str | None = None,
                           require_passing: bool = True, **params: Any) -> FillResult:
        """Write code from a description alone (an empty buffer with the hole in it)."""
        if not specification.strip():
            raise InvalidRequestError("specification", "specification is empty; describe "
                                                       "the code to write")
        return self.fill("", 0, language=language, specification=specification,
                         hole="block", require_passing=require_passing, **params)

    def _run(self, request: GenerationRequest, options: SamplerOptions,
             on_step: Callable[[SampleStep], None] | None,
             should_stop: Callable[[], bool] | None) -> SampleStep:
        steps = self.model.stream(request, options)
        try:
            for step in steps:
                if step.done:
                    return step
                if on_step is not None:
                    on_step(step)
                if should_stop is not None and should_stop():
                    raise GenerationCancelled("generation cancelled between denoising steps")
        finally:
            close = getattr(steps, "close", None)
            if close is not None:
                close()
        raise GenerationError(f"{self.info.name} stopped without a result",
                              ["its sample() ended before the final step"])


def cut_at_cliff(candidate: Candidate, threshold: float) -> Candidate:
    """The candidate up to its confidence cliff (see ``context/candidates.py:cliff_head``),
    marked with the reward ``cut`` (the characters dropped): the head of a line is not whole
    code, so the syntax check does not judge it. Unchanged when there is no head to offer."""
    head = cliff_head(candidate, threshold)
    if head is None or not head.strip() or head.strip() == candidate.text.strip():
        return candidate
    return replace(candidate, text=head,
                   rewards={**candidate.rewards, "cut": float(len(candidate.text) - len(head))})


def heal_prefix(prefix: str) -> tuple[str, str]:
    """Move the whitespace the prefix ends with (spaces, tabs, line breaks) into the hole.

    Byte-level BPE tokenizers never end a token before whitespace that belongs to the next
    word: ``"\n    return"`` is read ``"\n   "`` + ``" return"``. A prefix cut after the
    indentation, or after the line break of an opened empty line, ends in a token the model has
    rarely seen in that place, and it answers badly (one space too many, or an empty line). The
    model sees the prefix without that whitespace and writes it itself; :func:`unheal` takes it
    off the candidate again.
    """
    stripped = prefix.rstrip()
    return stripped, prefix[len(stripped) :]


def unheal(candidate: str, moved: str) -> str:
    """The candidate as it goes after the cursor: without the whitespace the cursor is past.

    When the cursor is on a fresh line, a candidate that does not start a new line continued the
    line above, which is not what goes at the cursor: that part is dropped.
    """
    if not moved or candidate.startswith(moved):
        return candidate[len(moved) :]
    if "\n" in moved:
        if not candidate.startswith(("\n", "\r")):
            candidate = candidate.partition("\n")[2]
        candidate = candidate.lstrip("\r\n")
    return candidate.lstrip(" \t")


def _check_offsets(text: str, start: int, end: int) -> None:
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRequestError(name, f"{name} must be an integer offset, got {value!r}")
        if not 0 <= value <= len(text):
            raise InvalidRequestError(
                name, f"{name} must be between 0 and {len(text)} (the buffer's length), "
                      f"got {value}")
    if end < start:
        raise InvalidRequestError("end", f"end ({end}) must not be before start ({start})")
