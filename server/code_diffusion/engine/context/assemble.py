"""``assemble_context``: drafts, snippets and a cache prior for one hole, from given texts."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from code_diffusion.engine.context.drafts import Draft, find_drafts
from code_diffusion.engine.context.index import WorkspaceIndex
from code_diffusion.engine.context.prior import CachePriorProcessor, NgramCache
from code_diffusion.engine.context.snippets import (
    Snippet,
    chunk,
    render_snippets,
    select_snippets,
)

HOLE_KINDS = ("line", "block", "auto")


def approximate_tokens(text: str) -> int:
    """A model-free token count (one token per 3 characters, rounded up), used for the
    snippet budget only when no ``count_tokens`` is given."""
    return math.ceil(len(text) / 3)


@dataclass(frozen=True)
class ContextOptions:
    """What context assembly does. Validated when built."""

    max_drafts: int = 8
    max_draft_lines: int = 6
    """Most lines of a continuation draft."""
    rename_lines: int = 8
    """Aligned neighbour lines, above and below, whose changed names a draft takes (0: drafts
    are copied as they are; ``engine/context/renames.py``)."""
    workspace: bool = True
    """Use the index's other files (drafts and snippets); off: the document only."""
    workspace_weight: float = 0.5
    """Score factor of places in other files."""
    snippet_budget: int = 256
    """Most tokens of the rendered snippets (0: no snippets)."""
    max_snippets: int = 4
    snippet_radius: int = 3
    """Lines either side of a place in a snippet."""
    local_lines: int = 20
    """Document lines within this distance of the hole are the model's local window: never
    snippets."""
    prior_weight: float = 0.0
    """Weight of the cache prior in the logits (0: off)."""
    prior_order: int = 3
    offered_drafts: int = 3
    """Most drafts offered as candidates (the best ``max_drafts`` are ranked first)."""
    retrieval_weight: float = 1.0
    """Weight of a draft's retrieval evidence, ``log(1 + score)``, in the ranking."""
    judge_weight: float = 0.0
    """Weight of the model's judgement of a draft (log mean token probability, one pass) in the
    ranking, where the model can judge (0: retrieval evidence alone)."""
    draft_bias: float = 0.0
    """Added to every draft's ranking score (against the denoised candidates' log confidence)."""
    draft_overlap_weight: float = 1.0
    """Weight of the suffix-overlap penalty for a draft (always 1 for a denoised candidate).
    Code repeats, so a draft that copies a line below the hole is often right; 0, 0.25, 0.5
    and 1 ranked equally well on the tuning split (57 of 200), so it stays at the rewards'
    own weight."""
    edit_drafts: bool = False
    """Draft-and-edit: the best draft is also offered with its tokens under ``edit_threshold``
    re-masked and denoised again (``edited_draft``), where the model can judge."""
    edit_threshold: float = 0.01
    cliff: bool = False
    """Cut a denoised line at the confidence cliff: offer it up to its last confident token."""
    cliff_threshold: float = 0.5

    def __post_init__(self) -> None:
        for name in ("max_drafts", "max_draft_lines", "rename_lines", "snippet_budget",
                     "max_snippets", "snippet_radius", "local_lines", "offered_drafts"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"ContextOptions.{name} must be an integer ≥ 0, got {value!r}")
        if self.max_draft_lines < 1:
            raise ValueError("ContextOptions.max_draft_lines must be ≥ 1, got "
                             f"{self.max_draft_lines}")
        if not 0 <= self.workspace_weight <= 1:
            raise ValueError(f"ContextOptions.workspace_weight must be in [0, 1], got "
                             f"{self.workspace_weight}")
        if not self.prior_weight >= 0:
            raise ValueError(f"ContextOptions.prior_weight must be ≥ 0 (0 is off), got "
                             f"{self.prior_weight}")
        for name in ("retrieval_weight", "judge_weight", "draft_overlap_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"ContextOptions.{name} must be ≥ 0, got {getattr(self, name)}")
        for name in ("edit_threshold", "cliff_threshold"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"ContextOptions.{name} must be in (0, 1), got "
                                 f"{getattr(self, name)}")
        if self.prior_order < 2:
            raise ValueError(f"ContextOptions.prior_order must be ≥ 2, got {self.prior_order}")


@dataclass(frozen=True)
class Context:
    """What assembly found for one hole."""

    drafts: tuple[Draft, ...]
    snippets: tuple[Snippet, ...]
    preamble: str
    """``render_snippets(snippets, language)``: the text ahead of the local prefix."""
    prior: NgramCache | None = field(default=None, compare=False)
    """Token n-grams of the document and the snippets (``None`` when the prior is off)."""
    prior_weight: float = 0.0

    def prior_processor(self, contexts: Sequence[Sequence[int]]) -> CachePriorProcessor | None:
        """The logit processor for masked slots with these committed left contexts."""
        if self.prior is None or self.prior_weight == 0:
            return None
        return CachePriorProcessor(self.prior, contexts, self.prior_weight)


def _snippet_candidates(drafts: Sequence[Draft], text: str, hole_line: int, path: str | None,
                        index: WorkspaceIndex | None, options: ContextOptions) -> list[Snippet]:
    document = text.split("\n")
    found = []
    for draft in drafts:
        own = draft.path is None or draft.path == path
        if own and abs(draft.line - hole_line) <= options.local_lines + options.snippet_radius:
            continue
        if not own and (index is None or draft.path not in index):
            continue
        lines = document if own else index.text(draft.path).split("\n")
        first, body = chunk(lines, draft.line, options.snippet_radius)
        found.append(Snippet(None if own else draft.path, first, body, draft.score))
    return found


def assemble_context(text: str, start: int, end: int, *, path: str | None = None,
                     language: str | None = None, index: WorkspaceIndex | None = None,
                     options: ContextOptions | None = None, hole: str = "auto",
                     count_tokens: Callable[[str], int] | None = None,
                     encode: Callable[[str], Sequence[int]] | None = None) -> Context:
    """Drafts, snippets and the prior for the hole ``text[start:end]`` of the document ``path``.

    ``index`` supplies the workspace (its copy of ``path`` is ignored: ``text`` is the
    document). ``hole`` is the engine's hole kind: for ``"line"`` drafts are one line, for
    ``"block"`` and ``"auto"`` up to ``options.max_draft_lines``. ``count_tokens`` measures the
    snippet budget (default :func:`approximate_tokens`); ``encode`` (text → token ids) is
    needed only when ``options.prior_weight > 0``.
    """
    options = options or ContextOptions()
    if hole not in HOLE_KINDS:
        raise ValueError(f"hole must be one of {', '.join(HOLE_KINDS)}, got {hole!r}")
    if options.prior_weight > 0 and encode is None:
        raise ValueError("the cache prior is on (prior_weight > 0) but no encode was given; "
                         "pass encode=<tokenizer's text → ids> or set prior_weight=0")
    workspace = index if options.workspace else None
    drafts = find_drafts(text, start, end, path=path, index=workspace,
                         max_drafts=options.max_drafts,
                         max_lines=1 if hole == "line" else options.max_draft_lines,
                         workspace_weight=options.workspace_weight,
                         rename_lines=options.rename_lines)
    snippets: list[Snippet] = []
    if options.snippet_budget > 0 and options.max_snippets > 0:
        candidates = _snippet_candidates(drafts, text, text.count("\n", 0, start), path,
                                         workspace, options)
        snippets = select_snippets(candidates, options.snippet_budget,
                                   count_tokens or approximate_tokens, language,
                                   options.max_snippets)
    prior = None
    if options.prior_weight > 0:
        texts = [text[:start] + text[end:], *(s.text for s in snippets)]
        prior = NgramCache.of_texts(texts, encode, options.prior_order)
    return Context(tuple(drafts), tuple(snippets), render_snippets(snippets, language), prior,
                   options.prior_weight)
