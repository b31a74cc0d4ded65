"""Drafts as candidates: provenance, the ranking's retrieval evidence, and deduplication.

A draft becomes a :class:`~code_diffusion.engine.types.Candidate` with ``origin="draft"``,
``source="path:line"`` (1-based; ``this file`` for a document without a path; followed by
``, renamed old → new`` when the draft took the hole's names) and the reward
``retrieval`` (the draft's score). Where the model judged it, its per-token probabilities are
the candidate's ``confidence`` and the reward ``likelihood`` their mean. The ranking score of a
draft (see :func:`draft_rank`) and of a denoised candidate (its log mean confidence) meet in
``engine/rewards.py``; the weights are :class:`~code_diffusion.engine.context.ContextOptions`
fields, chosen on the tuning split.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from code_diffusion.engine.context.drafts import Draft
from code_diffusion.engine.types import Candidate

THIS_FILE = "this file"


def draft_source(draft: Draft) -> str:
    """``path:line`` (1-based) of the place a draft was copied from, then the names it
    changed, if any (``path:line, renamed old → new``)."""
    place = f"{draft.path or THIS_FILE}:{draft.line + 1}"
    if not draft.renames:
        return place
    return f"{place}, renamed " + ", ".join(f"{old} → {new}" for old, new in draft.renames)


def distinct_drafts(drafts: Iterable[Draft], texts: Sequence[str]) -> list[tuple[Draft, str]]:
    """Drafts paired with their post-processed text, the first of each stripped text kept,
    empty texts dropped."""
    seen: set[str] = set()
    out = []
    for draft, text in zip(drafts, texts, strict=True):
        key = text.strip()
        if key and key not in seen:
            seen.add(key)
            out.append((draft, text))
    return out


ORDER_STEP = 1e-3
"""Ranking score a draft loses per place in context assembly's order: among equal evidence,
assembly's own tie-break (the document's place nearest the hole first) decides."""


def draft_candidate(draft: Draft, text: str, judged: Sequence[float] | None = None,
                    order: int = 0) -> Candidate:
    """The candidate for one draft (``judged``: the model's probability of each token;
    ``order``: its place among the drafts assembly found)."""
    rewards = {"retrieval": float(draft.score), "order": float(order)}
    if judged:
        rewards["likelihood"] = sum(judged) / len(judged)
    return Candidate(text=text, confidence=tuple(judged or ()),
                     forward_passes=1 if judged else 0, rewards=rewards, origin="draft",
                     source=draft_source(draft))


def draft_rank(rewards: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """A draft's ranking score before the syntax and overlap terms: the retrieval evidence,
    the model's judgement (when there is one) and the draft bias."""
    value = weights.get("retrieval", 1.0) * math.log1p(max(0.0, rewards["retrieval"]))
    value += weights.get("bias", 0.0) - ORDER_STEP * rewards.get("order", 0.0)
    if "likelihood" in rewards:
        value += weights.get("judge", 0.0) * math.log(max(rewards["likelihood"], 1e-6))
    return value


def collapse(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates in the order given, each stripped text once: the first (best-ranked) one
    keeps its place, the later copies are dropped."""
    seen: set[str] = set()
    out: list[Candidate] = []
    for candidate in candidates:
        key = candidate.text.strip()
        if key not in seen:
            seen.add(key)
            out.append(candidate)
    return out


MIN_HEAD_CHARS = 4
"""A head shorter than this (stripped) is not worth offering on its own."""


def cliff_head(candidate: Candidate, threshold: float) -> str | None:
    """The candidate's text up to its first token under ``threshold`` (the confidence cliff),
    or ``None`` when every token is confident, the sampler gave no token texts, or the head
    is too short to be worth having."""
    if not candidate.pieces or len(candidate.pieces) != len(candidate.confidence):
        return None
    for index, confidence in enumerate(candidate.confidence):
        if confidence < threshold:
            head = "".join(candidate.pieces[:index])
            return head if len(head.strip()) >= MIN_HEAD_CHARS else None
    return None
