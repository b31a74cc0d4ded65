"""Training windows in the editor's distribution, laid out by the engine's own code.

A window is cut from one corpus file: a hole is picked (a line, the rest of a line, a block
body, or a line with a retrieved draft on the canvas), the text before it is healed as
``CodeGenerator.fill`` heals it, :func:`assemble_context` finds drafts and snippets with the
server's :class:`ContextOptions` defaults, and :func:`build_canvas` lays out
``[BOS]? PREAMBLE LOCAL-PREFIX [MASK]×n SUFFIX [EOS]?`` (docs/context.md). The hole's slots hold
the true text's tokens followed by ``[PAD]`` (unused slots), so the layout the model learns is
exactly the one the sampler gives it. The workspace of a file is the file alone (no
:class:`WorkspaceIndex` of its project): snippets and drafts come from elsewhere in the file,
which keeps a window at a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from code_diffusion.engine.adapters.base import Denoiser, SpecialIds
from code_diffusion.engine.canvas import build_canvas
from code_diffusion.engine.context import ContextOptions, assemble_context
from code_diffusion.engine.generator import heal_prefix, hole_kind
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import GenerationRequest, PartialCode
from code_diffusion.training import described
from code_diffusion.training.objective import BOS_ID, EOS_ID, MASK_ID, PAD_ID

HOLE_SHARES = {"line": 0.36, "rest_of_line": 0.12, "block": 0.13, "draft": 0.10,
               "described": 0.08}
"""Shares of context-format windows among all windows; the rest (``1 - sum``) are plain span
and uniform masking of the token stream (see ``objective.make_batch``)."""
DEFAULT_MAX_LENGTH = GenerationRequest.max_length
SHORT_CANVAS_SHARE = 0.3
"""Share of context windows laid out for a ``maxLength`` setting below the default, drawn from
``SHORT_CANVAS``: the canvas ends at that length with no visible ``[PAD]`` after it, as the
server lays it out for the setting (without them, a short canvas reads as an almost empty
hole to the model)."""
SHORT_CANVAS = (8, 48)
LADDER_SHARE = 0.25
"""Share of context windows laid out as a shorter row of the sampler's ladder: the hole's tail
is pre-filled with visible ``[PAD]`` as ``CanvasTemplate.rows`` fills it for rows after the
first (only when the true text fits the shorter canvas)."""
LADDER_ROWS = 8
SNIPPET_TRIES = 8
"""Line holes: lines tried until one has a snippet in its preamble (the last try is kept)."""
COPY_TRIES = 16
"""Copy windows (see ``context_window``'s ``copy_share``): lines tried until one is copyable."""
MIN_COPY_CHARS = 4
"""A line shorter than this (stripped) does not count as copyable."""


@dataclass
class Window:
    """One training row before padding: the canvas tokens and where the loss is computed."""

    kind: str
    left: list[int]
    slots: list[int]
    """What the canvas holds in the hole: ``[MASK]`` or, for ``draft``, some draft tokens."""
    target: list[int]
    """The true tokens of the hole, then ``[PAD]`` up to the canvas length."""
    right: list[int]
    loss_at_visible: bool = False
    """``draft`` windows: the loss is also computed at the draft tokens left visible (the
    model learns to judge and correct a draft, not only to fill masks)."""
    has_snippet: bool = False
    copyable: bool = False
    """The true text (stripped) stands verbatim in the window's left context: the preamble's
    snippets or the local prefix, so the model can copy it."""
    row: int = 0
    """The sampler's row this window is laid out as (``CanvasTemplate.rows([row])``)."""

    @property
    def ids(self) -> list[int]:
        return self.left + self.slots + self.right

    @property
    def targets(self) -> list[int]:
        return self.left + self.target + self.right

    def loss_mask(self) -> list[bool]:
        """The hole's ``[MASK]`` slots (all its slots but pre-filled ``[PAD]`` for a draft)."""
        hole = [s == MASK_ID or (self.loss_at_visible and s != PAD_ID) for s in self.slots]
        return [False] * len(self.left) + hole + [False] * len(self.right)


def tokenizer_denoiser(tokenizer, max_context: int) -> Denoiser:
    """A :class:`Denoiser` with no model, enough for :func:`build_canvas` to lay out a window
    (it tokenises and never runs the model)."""
    return Denoiser(model=None, tokenizer=tokenizer,
                    ids=SpecialIds(mask=MASK_ID, pad=PAD_ID, bos=BOS_ID, eos=EOS_ID),
                    family="embedded", name="training", max_context=max_context,
                    trailing_pad=True)


@dataclass(frozen=True)
class Hole:
    """A hole as the editor sees it: the ``document`` with the cursor at ``cursor`` (the hole
    is an insertion there) and the ``truth`` that belongs at the cursor."""

    document: str
    cursor: int
    truth: str
    specification: str = ""
    """The description a code action hands the generator (a comment or a docstring)."""
    hole: str = "auto"
    """The kind ``CodeGenerator.fill`` is asked for (``block`` for the code actions)."""

    @property
    def kind(self) -> str:
        """The engine's kind for this hole (``CodeGenerator.fill`` with ``hole=self.hole``)."""
        return hole_kind(self.document, self.cursor, self.cursor, self.hole)


def canvas_for(denoiser: Denoiser, hole: Hole, options: ContextOptions | None = None,
               language: str = "python", max_length: int = DEFAULT_MAX_LENGTH):
    """What the server does for this hole: context assembly, healing, the canvas template.

    Returns ``(template, sampler_options, context, moved)``: ``moved`` is the whitespace the
    healing took off the prefix (the model writes it: the slots' text starts with it)."""
    kind = hole.kind
    context = assemble_context(hole.document, hole.cursor, hole.cursor, language=language,
                               options=options or ContextOptions(),
                               hole=kind if kind in ("line", "block") else "auto")
    prefix, moved = heal_prefix(hole.document[: hole.cursor])
    request = GenerationRequest(language=language, num_samples=LADDER_ROWS,
                                max_length=max_length, specification=hole.specification,
                                partial_code=PartialCode(prefix, hole.document[hole.cursor :]))
    opts = SamplerOptions(kind=kind, span_chars=0,
                          healed_break=kind == "line" and "\n" in moved,
                          preamble=context.preamble)
    return build_canvas(denoiser, request, opts), opts, context, moved


def window_for(denoiser: Denoiser, hole: Hole, rng: np.random.Generator,
               draft: bool = False, options: ContextOptions | None = None,
               ladder: float = LADDER_SHARE,
               max_length: int = DEFAULT_MAX_LENGTH) -> Window | None:
    """The training window of ``hole`` (``None`` when its text does not fit the canvas, or a
    ``draft`` window finds no draft); with probability ``ladder`` a shorter row."""
    template, opts, context, moved = canvas_for(denoiser, hole, options,
                                                max_length=max_length)
    layout = template.layout
    n = layout.lengths[0]
    truth = denoiser.encode(moved + hole.truth)
    if not truth or len(truth) > n:
        return None
    target = truth + [PAD_ID] * (n - len(truth))
    length = n
    if ladder and rng.random() < ladder:
        length = layout.lengths[int(rng.integers(1, len(layout.lengths)))]
        length = length if length >= len(truth) else n
    slots = [MASK_ID] * length + [PAD_ID] * (n - length)
    kind = "block" if opts.kind == "block" else "line"
    kind = "described" if hole.specification else kind
    if draft:
        if not context.drafts:
            return None
        kind = "draft"
        best = max(context.drafts, key=lambda d: d.score)
        shown = denoiser.encode(moved + best.text)[:n]
        keep = rng.random(len(shown)) >= rng.uniform(0.2, 0.7)
        shown = [t if k else MASK_ID for t, k in zip(shown, keep, strict=True)][:length]
        slots = shown + slots[len(shown) :]
    return Window(kind, list(layout.left), slots, target, list(layout.right),
                  loss_at_visible=draft, has_snippet=bool(context.snippets),
                  copyable=copyable(hole, denoiser.decode(list(layout.left))),
                  row=layout.lengths.index(length))


def copyable(hole: Hole, left: str) -> bool:
    """Whether the hole's true text (stripped) stands verbatim in ``left``, the window's
    decoded tokens ahead of the hole (the preamble's snippets and the local prefix as the
    window cut them)."""
    truth = hole.truth.strip()
    return len(truth) >= MIN_COPY_CHARS and truth in left


def _line_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every non-blank line, ``end`` at its line break."""
    spans, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def cut(text: str, start: int, end: int) -> Hole:
    """The hole ``text[start:end]`` with the cursor at ``start``."""
    return Hole(text[:start] + text[end:], start, text[start:end])


def line_hole(text: str, spans, rng: np.random.Generator) -> Hole:
    """A whole line after its indentation (the cursor on a fresh, indented line)."""
    start, end = spans[int(rng.integers(len(spans)))]
    line = text[start:end]
    return cut(text, start + len(line) - len(line.lstrip()), end)


def rest_of_line_hole(text: str, spans, rng: np.random.Generator) -> Hole | None:
    """The cursor after a word or symbol inside a line; the hole is the rest of the line."""
    start, end = spans[int(rng.integers(len(spans)))]
    line = text[start:end]
    body = len(line) - len(line.lstrip())
    cuts = [i for i in range(body + 1, len(line))
            if not line[i - 1].isalnum() or not line[i].isalnum()]
    if not cuts:
        return None
    return cut(text, start + cuts[int(rng.integers(len(cuts)))], end)


def block_hole(text: str, spans, rng: np.random.Generator, max_lines: int = 8) -> Hole | None:
    """The body under a block opener (``def f():``): the cursor on the new line the editor
    opens and indents after the opener (the body's first lines are the truth)."""
    openers = [i for i, (s, e) in enumerate(spans[:-1]) if text[s:e].rstrip().endswith(":")]
    if not openers:
        return None
    at = openers[int(rng.integers(len(openers)))]
    head = text[spans[at][0] : spans[at][1]]
    indent = len(head) - len(head.lstrip())
    last = at
    for j in range(at + 1, min(len(spans), at + 1 + max_lines)):
        line = text[spans[j][0] : spans[j][1]]
        if len(line) - len(line.lstrip()) <= indent:
            break
        last = j
    if last == at:
        return None
    last = at + 1 + int(rng.integers(last - at))  # a body of 1 .. all its first lines
    first = text[spans[at + 1][0] : spans[at + 1][1]]
    indent = first[: len(first) - len(first.lstrip())]
    start, end = spans[at][1], spans[last][1]
    document = text[:start] + "\n" + indent + text[end:]
    return Hole(document, start + 1 + len(indent), text[start + 1 + len(indent) : end])


def described_hole(text: str, rng: np.random.Generator) -> Hole | None:
    """A hole a code action fills from a description: after a comment or after a docstring
    (:mod:`~code_diffusion.training.described`)."""
    found = described.random_hole(text, rng)
    return None if found is None else Hole(found.document, found.cursor, found.truth,
                                           found.specification, found.hole)


def parse_shares(text: str) -> dict[str, float]:
    """The mixture shares with ``text``'s overrides applied: ``"rest_of_line=0.24,line=0.30"``
    (kinds of :data:`HOLE_SHARES`, each a share in [0, 1]; the kinds not named keep theirs,
    and ``plain`` gets what the sum leaves). Empty: :data:`HOLE_SHARES`."""
    shares = dict(HOLE_SHARES)
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, value = item.partition("=")
        kind = kind.strip()
        if kind not in shares:
            raise ValueError(f"unknown window kind {kind!r} in {item!r}; the kinds are "
                             f"{', '.join(HOLE_SHARES)} (plain takes the rest)")
        try:
            share = float(value)
        except ValueError:
            raise ValueError(f"{item!r} needs a number after '=', like {kind}=0.2") from None
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"the share of {kind} must be in [0, 1], got {share}")
        shares[kind] = share
    if sum(shares.values()) > 1.0 + 1e-9:
        raise ValueError(f"the shares add up to {sum(shares.values()):.3f}, more than 1: "
                         + ", ".join(f"{k}={v:g}" for k, v in shares.items()))
    return shares


def pick_kind(rng: np.random.Generator, shares: dict[str, float] = HOLE_SHARES) -> str:
    """``line``, ``rest_of_line``, ``block``, ``draft``, ``described`` or ``plain`` by the
    mixture shares."""
    u, acc, kind = rng.random(), 0.0, "plain"
    for kind, share in shares.items():
        acc += share
        if u < acc:
            return kind
    return "plain" if acc < 1 - 1e-9 else kind


def context_window(denoiser: Denoiser, text: str, kind: str, rng: np.random.Generator,
                   options: ContextOptions | None = None,
                   ladder: float = LADDER_SHARE, copy_share: float = 0.0,
                   short_canvas: float = SHORT_CANVAS_SHARE) -> Window | None:
    """A window of ``kind`` (not ``plain``) from one document, or ``None`` if it has none.

    With probability ``short_canvas`` the window is laid out for a ``maxLength`` setting drawn
    from :data:`SHORT_CANVAS` (else the default). Line holes: lines are tried until one has a
    snippet in its preamble; with probability ``copy_share``, until one is :func:`copyable`
    (its text stands in the window ahead of it, about 12 % of line windows otherwise), so the
    copy head sees more lines it can copy. The last try is kept when none qualifies."""
    spans = _line_spans(text)
    if len(spans) < 3:
        return None
    short = short_canvas > 0 and rng.random() < short_canvas  # no draw at 0: same stream
    length = int(rng.integers(*SHORT_CANVAS)) if short else DEFAULT_MAX_LENGTH
    single = {"block": block_hole, "rest_of_line": rest_of_line_hole,
              "described": lambda t, _spans, r: described_hole(t, r)}
    if kind in single:
        hole = single[kind](text, spans, rng)
        return window_for(denoiser, hole, rng, options=options, ladder=ladder,
                          max_length=length) if hole else None
    copy = kind == "line" and copy_share > 0 and rng.random() < copy_share
    found = None
    for _ in range(COPY_TRIES if copy else SNIPPET_TRIES):
        window = window_for(denoiser, line_hole(text, spans, rng), rng, draft=kind == "draft",
                            options=options, ladder=ladder, max_length=length)
        if window is not None:
            found = window
            if window.copyable if copy else window.has_snippet or kind == "draft":
                break
    return found
