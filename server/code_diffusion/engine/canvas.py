"""The token canvas of a request: context window, hole slots, and per-slot state.

Layout of every row: ``[BOS]? preamble spec-comment prefix [MASK]×n suffix [EOS]?``. ``[BOS]``
marks a prefix that starts the file and ``[EOS]`` a suffix that ends it, as in training. The
preamble is text from elsewhere in the file and the workspace (``SamplerOptions.preamble``, the
format of ``docs/context.md``); it is kept whole when it fits in half the room, and the local
context is cut to the rest of the model's window around the hole, keeping more prefix than
suffix.

Rows may have different canvas lengths (a "ladder"): with a model trained to leave unused slots
as trailing ``[PAD]``, a shorter canvas is the same canvas with its tail pre-filled with
``[PAD]``, so rows of different lengths share one tensor and one forward pass, and give
different candidates even when sampling greedily.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from code_diffusion.engine.adapters.base import Denoiser
from code_diffusion.engine.languages import comment_block
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.sampling import CommitPolicy, trailing_fill
from code_diffusion.engine.types import Candidate, GenerationRequest

LADDER = (1.0, 0.5, 0.75, 0.35, 0.6, 0.85, 0.25, 0.45)
PREFIX_SHARE = 0.75
"""Share of the context budget the prefix gets when both sides are longer than the window."""


def line_end_tokens(denoiser: Denoiser) -> frozenset[int]:
    """Ids of every token whose text contains a newline (cached on the denoiser)."""
    cached = denoiser.extra.get("line_end_tokens")
    if cached is None:
        size = len(denoiser.tokenizer)
        cached = frozenset(i for i in range(size) if "\n" in denoiser.decode([i]))
        denoiser.extra["line_end_tokens"] = cached
    return cached


@dataclass
class Layout:
    """What every row shares: the context around the hole and how the hole may be filled."""

    left: list[int]
    right: list[int]
    spec_slice: slice
    lengths: list[int]
    """Canvas length of each of the request's rows (before trailing pre-filled ``[PAD]``)."""
    allow_pad: bool
    allow_eos: bool
    cut_tokens: frozenset[int]
    guided: bool


def build_canvas(denoiser: Denoiser, request: GenerationRequest,
                 opts: SamplerOptions) -> CanvasTemplate:
    """Tokenise the request and lay out the window around the hole."""
    ids = denoiser.ids
    code = request.partial_code
    prefix, suffix = (code.prefix, code.suffix) if code else ("", "")
    spec = denoiser.encode(comment_block(request.specification, request.language))
    n = opts.slots(request.max_length)
    window = min(denoiser.max_context, opts.window or denoiser.max_context)
    room = window - n - len(spec) - 2
    preamble = denoiser.encode(opts.preamble) if opts.preamble else []
    preamble = preamble[max(0, len(preamble) - room // 2) :]  # its best part is at its end
    budget = max(8, room - len(preamble))
    # Tokenise only the characters that can fit (about 8 per token is generous for code).
    prefix_ids = denoiser.encode(prefix[-budget * 8 :])
    suffix_ids = denoiser.encode(suffix[: budget * 8])
    suffix_keep = min(len(suffix_ids), max(budget - len(prefix_ids),
                                           int(budget * (1 - PREFIX_SHARE))))
    prefix_keep = min(len(prefix_ids), budget - suffix_keep)
    file_start = prefix_keep == len(prefix_ids) and len(prefix) <= budget * 8
    file_end = suffix_keep == len(suffix_ids) and len(suffix) <= budget * 8
    left = ([ids.bos] if file_start and ids.bos is not None else []) + preamble
    spec_start = len(left)
    left += spec + prefix_ids[len(prefix_ids) - prefix_keep :]
    right = suffix_ids[:suffix_keep] + ([ids.eos] if file_end and ids.eos is not None else [])
    denoiser.check_context(left)
    ladder = denoiser.trailing_pad and opts.ladder
    lengths = [max(2, round(n * LADDER[r % len(LADDER)])) if ladder else n
               for r in range(request.num_samples)]
    pad_ok = opts.length_control and ids.pad is not None
    cut = line_end_tokens(denoiser) if opts.sampled_kind == "line" else frozenset()
    eos_ok = not suffix and ids.eos is not None and opts.length_control
    if eos_ok:
        cut = cut | {ids.eos}
    return CanvasTemplate(
        denoiser, Layout(left, right, slice(spec_start, spec_start + len(spec)), lengths,
                         pad_ok, eos_ok, cut,
                         guided=request.guidance_scale != 1.0 and bool(spec)))


class CanvasTemplate:
    """The request's layout; :meth:`rows` makes the tensor for a chunk of rows."""

    def __init__(self, denoiser: Denoiser, layout: Layout) -> None:
        self.denoiser, self.layout = denoiser, layout

    @property
    def guided(self) -> bool:
        return self.layout.guided

    def repeat_ranks(self, rows: list[int]) -> list[int]:
        """For each of ``rows``, how many earlier rows of the request have its canvas length:
        0 for a row the ladder already sets apart, ``k`` for the ``k``-th repeat of a length
        (the rows :meth:`Canvas.commit_alternatives` gives a different first commit)."""
        lengths = self.layout.lengths
        return [lengths[:row].count(lengths[row]) for row in rows]

    def rows(self, rows: list[int]) -> Canvas:
        lay, ids = self.layout, self.denoiser.ids
        width = max(lay.lengths)
        filler = ids.pad if ids.pad is not None else ids.mask
        slots = [[ids.mask] * lay.lengths[r] + [filler] * (width - lay.lengths[r]) for r in rows]
        tensor = torch.tensor([lay.left + h + lay.right for h in slots], dtype=torch.long,
                              device=self.denoiser.device)
        return Canvas(self.denoiser, lay, tensor, len(lay.left), width)

    def refine_row(self, chunk: Canvas, row: int, share: float = 0.25) -> Canvas:
        """One row with the least confident ``share`` of its committed tokens masked again."""
        single = Canvas(self.denoiser, self.layout, chunk.ids[row : row + 1].clone(),
                        chunk.start, chunk.width)
        single.confidence = chunk.confidence[row : row + 1].clone()
        single.alternatives = {0} if row in chunk.alternatives else set()
        real = [i for i, t in enumerate(single.slot_tokens(0)) if t not in single.skip_ids]
        if real:
            count = max(1, int(len(real) * share))
            scores = single.confidence[0, real]
            for index in torch.topk(-scores, count).indices.tolist():
                single.ids[0, single.start + real[index]] = self.denoiser.ids.mask
        return single


@dataclass
class Canvas:
    """The tensor of a chunk of rows and each hole slot's committed confidence."""

    denoiser: Denoiser
    layout: Layout
    ids: torch.Tensor
    start: int
    width: int
    passes: int = 0
    confidence: torch.Tensor = field(init=False)
    alternatives: set[int] = field(default_factory=set)
    """Rows that started from an alternative first commit (:meth:`commit_alternatives`):
    their candidates carry the reward ``alternative`` = 1 and rank after the greedy ones."""

    def __post_init__(self) -> None:
        self.confidence = torch.ones(self.ids.shape[0], self.width)

    @property
    def guided(self) -> bool:
        return self.layout.guided

    @property
    def pad_id(self) -> int | None:
        return self.denoiser.ids.pad

    def suppressed(self) -> list[int | None]:
        """Tokens no slot may take: ``[MASK]``, ``[BOS]``, and ``[PAD]`` / ``[EOS]`` unless the
        layout lets the completion end early."""
        ids = self.denoiser.ids
        never = [ids.mask, ids.bos]
        if not self.layout.allow_pad:
            never.append(ids.pad)
        if not self.layout.allow_eos:
            never.append(ids.eos)
        return never

    def end_tokens(self) -> torch.Tensor:
        """``[PAD]`` and ``[EOS]``: the tokens that end a completion."""
        ids = [t for t in (self.denoiser.ids.pad, self.denoiser.ids.eos) if t is not None]
        return torch.tensor(ids, dtype=torch.long, device=self.ids.device)

    def first_slot_bans(self) -> torch.Tensor:
        """The tokens that leave the hole empty when its first slot takes them: the end
        tokens, and the line-cut tokens of a one-line hole."""
        cut = sorted(self.layout.cut_tokens)
        return torch.cat([self.end_tokens(), torch.tensor(cut, dtype=torch.long,
                                                          device=self.ids.device)])

    @property
    def skip_ids(self) -> set[int | None]:
        return {self.denoiser.ids.pad, self.denoiser.ids.eos}

    def slots(self) -> torch.Tensor:
        """The hole's slots of every row (a view of ``ids``)."""
        return self.ids[:, self.start : self.start + self.width]

    def masked_positions(self) -> torch.Tensor:
        where = torch.zeros_like(self.ids, dtype=torch.bool)
        where[:, self.start : self.start + self.width] = self.slots() == self.denoiser.ids.mask
        return where

    def unconditional_ids(self) -> torch.Tensor:
        """The same rows with the specification masked out (the unconditional branch of CFG)."""
        ids = self.ids.clone()
        ids[:, self.layout.spec_slice] = self.denoiser.ids.mask
        return ids

    def commit(self, row: int, positions: torch.Tensor, tokens: torch.Tensor,
               confidence: torch.Tensor) -> None:
        self.ids[row, positions] = tokens.to(self.ids.device)
        self.confidence[row, positions - self.start] = confidence.cpu()

    def commit_step(self, where: torch.Tensor, tokens: torch.Tensor, confidence: torch.Tensor,
                    policy: CommitPolicy, steps_left: int) -> None:
        """Commit the slots ``policy`` picks in each row (``where``, ``tokens`` and
        ``confidence`` as one step drew them), then end rows early where the rest of the hole
        is past the completion (see :func:`trailing_fill`).

        An end token (``[PAD]``, ``[EOS]``) is only committed at the leftmost masked slot: the
        completion's length is decided left to right. Otherwise the far end of a canvas, where
        ``[PAD]`` is the most confident guess, fills first and the pads creep left until the
        hole is empty.
        """
        enders = self.end_tokens()
        offset = 0
        for row in range(self.ids.shape[0]):
            positions = where[row].nonzero().squeeze(-1)
            count = positions.numel()
            if count == 0:
                continue
            eligible = confidence[offset : offset + count].clone()
            ends = torch.isin(tokens[offset : offset + count], enders)
            ends[0] = False  # the leftmost masked slot may end the completion
            eligible[ends] = -1.0
            picked = policy(eligible, steps_left)
            self.commit(row, positions[picked], tokens[offset + picked],
                        confidence[offset + picked])
            filled = trailing_fill(self.slot_tokens(row), self.pad_id, self.layout.cut_tokens)
            self.fill_pad(row, filled)
            offset += count

    def commit_alternatives(self, where: torch.Tensor, logits: torch.Tensor,
                            ranks: list[int]) -> torch.Tensor:
        """Give row ``i`` with ``ranks[i] = k > 0`` a different first commit: the ``k``-th most
        probable token, over its masked slots, that is not its slot's greedy choice nor an end
        token (nor the first commit of an earlier row: those count among the ``k``, and when
        they are ``k`` or more, the row takes the most probable token left), committed alone
        this step. ``logits`` are this step's processed ``(N, V)`` logits
        (row-major over ``where``). Returns which of the ``N`` slots are still to decide this
        step (the rows given an alternative drop out of it)."""
        keep = torch.ones(logits.shape[0], dtype=torch.bool)
        taken: list[tuple[int, int]] = []
        probs = logits.float().softmax(-1)
        enders = self.end_tokens().to(probs.device)
        offset = 0
        for row, rank in enumerate(ranks):
            positions = where[row].nonzero().squeeze(-1)
            count = positions.numel()
            block = probs[offset : offset + count].clone()
            offset += count
            if rank == 0 or count == 0:
                continue
            block.scatter_(1, logits[offset - count : offset].argmax(-1, keepdim=True), 0.0)
            block[:, enders] = 0.0
            for position, token in taken:
                block[positions == position, token] = 0.0
            # earlier rows' picks are out of the block already; the picks of rows of other
            # canvas lengths count too, so they may outnumber this row's rank
            wanted = max(1, rank - len(taken))
            if int((block > 0).sum()) < wanted:
                continue
            value, flat = block.flatten().topk(wanted)
            slot, token = divmod(int(flat[-1]), block.shape[1])
            taken.append((int(positions[slot]), token))
            self.commit(row, positions[slot : slot + 1], torch.tensor([token]), value[-1:].cpu())
            self.fill_pad(row, trailing_fill(self.slot_tokens(row), self.pad_id,
                                             self.layout.cut_tokens))
            keep[offset - count : offset] = False
            self.alternatives.add(row)
        return keep

    def fill_pad(self, row: int, slots: list[int]) -> None:
        if slots and self.pad_id is not None:
            self.ids[row, [self.start + s for s in slots]] = self.pad_id

    def slot_tokens(self, row: int) -> list[int | None]:
        mask = self.denoiser.ids.mask
        return [None if t == mask else t for t in self.slots()[row].tolist()]

    def masked_counts(self) -> list[int]:
        return (self.slots() == self.denoiser.ids.mask).sum(-1).tolist()

    def _real(self, row: int) -> tuple[list[int], list[float]]:
        tokens, conf = [], []
        for index, token in enumerate(self.slot_tokens(row)):
            if token is None or token in self.skip_ids:
                continue
            tokens.append(token)
            conf.append(float(self.confidence[row, index]))
        return tokens, conf

    def texts(self) -> list[str]:
        return [self.denoiser.decode(self._real(r)[0]) for r in range(self.ids.shape[0])]

    def candidates(self) -> list[Candidate]:
        out = []
        for row in range(self.ids.shape[0]):
            tokens, conf = self._real(row)
            out.append(Candidate(text=self.denoiser.decode(tokens), confidence=tuple(conf),
                                 forward_passes=self.passes,
                                 pieces=tuple(self.denoiser.decode([t]) for t in tokens),
                                 rewards={"alternative": 1.0} if row in self.alternatives
                                 else {}))
        return out
