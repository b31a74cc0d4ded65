"""Post-processing and scoring of candidates: cut at the hole's end, drop text that repeats the
suffix, then score syntax, confidence and suffix overlap and rank.

The syntax score is the number of syntax errors in the whole buffer with the candidate in,
minus the number before: an already-broken buffer (the user is typing) does not disqualify
every candidate, and a candidate that makes it worse is rejected with that reason. So is a
Python line the model wrote that reads a name the file never mentions (``engine/names.py``); a
line copied from another file may read that file's names (the user imports them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from code_diffusion.engine import syntax
from code_diffusion.engine.context.candidates import draft_rank
from code_diffusion.engine.languages import OVERLAP_CLOSERS
from code_diffusion.engine.names import NameScope
from code_diffusion.engine.types import Candidate

ALTERNATIVE_COST = 20.0
"""Taken off the score of a candidate that started from an alternative first commit
(``SamplerOptions.distinct_rows``): more than the log-confidence of any greedy candidate, so
such candidates rank after the greedy ones that pass, and among themselves by the usual terms."""


@dataclass(frozen=True)
class Hole:
    """The hole: the region ``text[start:end]`` a candidate replaces, with its kind."""

    text: str
    start: int
    end: int
    kind: str
    """``line``, ``block`` or ``span``."""
    language: str | None

    @property
    def prefix(self) -> str:
        return self.text[: self.start]

    @property
    def suffix(self) -> str:
        return self.text[self.end :]

    @property
    def rest_of_line(self) -> str:
        """What follows the hole on its line."""
        return self.suffix.split("\n", 1)[0]


def trim(candidate_text: str, hole: Hole) -> str:
    """Cut the candidate at the hole's end and drop what repeats the suffix. A line hole, and a
    span inside one line (a selection that has no line break), keep only the first line: what
    replaces part of a line stays on that line."""
    text = candidate_text.replace("\r\n", "\n")
    if hole.kind == "span" and "\n" not in hole.text[hole.start : hole.end]:
        text = text.split("\n", 1)[0]
    if hole.kind == "line":
        text = text.split("\n", 1)[0].rstrip()
        rest = hole.rest_of_line
        if rest.strip():
            text = _drop_overlap(text, rest)
        return text
    suffix_lines = [ln for ln in hole.suffix.split("\n") if ln.strip()]
    if suffix_lines:
        first = suffix_lines[0].rstrip()
        lines = text.split("\n")
        for index, line in enumerate(lines):
            if index > 0 and line.rstrip() == first and len(first.strip()) > 3:
                text = "\n".join(lines[:index])
                break
    if hole.rest_of_line.strip():
        text = _drop_overlap(text.rstrip(), hole.rest_of_line)
    elif hole.suffix.startswith("\n") or not hole.suffix:
        text = text.rstrip()
    return text


def _drop_overlap(text: str, rest: str) -> str:
    """Remove a tail of ``text`` that the rest of the line already has (closing brackets and
    quotes the editor auto-inserted, or a repeated word)."""
    for size in range(min(len(text), len(rest)), 0, -1):
        tail = rest[:size]
        if text.endswith(tail) and (size > 2 or set(tail) <= OVERLAP_CLOSERS):
            return text[: len(text) - size]
    return text


def score(candidates: list[Candidate], hole: Hole, use_rewards: bool,
          weights: Mapping[str, float] | None = None) -> list[Candidate]:
    """Every candidate with its rewards, score and failed checks: the ones that pass first
    (best score first), then the ones that failed (``problems`` says why).

    A candidate whose rewards hold ``retrieval`` (a draft) is ranked by its retrieval evidence
    and the model's judgement with ``weights`` (see ``context/candidates.py:draft_rank``)
    instead of its confidence; both get the same syntax and suffix-overlap terms. A
    candidate's own rewards (``retrieval``, ``likelihood``) are kept."""
    before = syntax_baseline(hole) if use_rewards else None
    written = use_rewards and any(c.origin == "denoised" for c in candidates)
    scope = NameScope.of(hole.text, hole.start, hole.end, hole.language) if written else None
    scored = []
    for candidate in candidates:
        problems: list[str] = []
        rewards = {**candidate.rewards, "confidence": candidate.mean_confidence}
        if not candidate.text.strip():
            problems.append("the model left the hole empty")
        elif use_rewards:
            if "cut" not in rewards:  # a line's head (cut at the cliff) is not whole code
                rewards.update(_syntax(candidate.text, hole, before, problems))
                if candidate.origin == "denoised":  # a copied line's names are the project's
                    _names(candidate.text, scope, problems)
            rewards["suffix_overlap"] = _overlap(candidate.text, hole.suffix)
        scored.append(replace(candidate, rewards=rewards, problems=tuple(problems),
                              score=_rank_score(rewards, weights or {})))
    scored.sort(key=lambda c: (not c.problems, c.score), reverse=True)
    return scored


@dataclass(frozen=True)
class SyntaxBaseline:
    """The buffer's syntax errors before a candidate goes in: in the whole buffer and, when the
    code after the hole is already broken further down, in the buffer cut at the first broken
    line (``cut``), so that errors a candidate adds cannot hide inside that region (tree-sitter
    folds an unclosed bracket and everything after it into the error that is already there)."""

    whole: int
    cut: int | None = None
    local: int = 0


def syntax_baseline(hole: Hole) -> SyntaxBaseline | None:
    """The :class:`SyntaxBaseline` of ``hole``'s buffer; ``None`` without a grammar."""
    spans = syntax.error_spans(hole.text, hole.language)
    if spans is None:
        return None
    later = [start for start, _ in spans if start >= hole.end]
    if not later:
        return SyntaxBaseline(len(spans))
    cut = hole.text.rfind("\n", 0, min(later)) + 1
    if cut <= hole.end:  # broken on the hole's own line: no clean lines between to check
        return SyntaxBaseline(len(spans))
    return SyntaxBaseline(len(spans), cut, syntax.error_count(hole.text[:cut], hole.language)
                          or 0)


def _syntax(text: str, hole: Hole, before: SyntaxBaseline | None,
            reasons: list[str]) -> dict[str, float]:
    if before is None:
        return {}
    after = syntax.error_count(hole.prefix + text + hole.suffix, hole.language)
    delta = (after or 0) - before.whole
    if before.cut is not None:
        local = syntax.error_count(hole.prefix + text + hole.text[hole.end : before.cut],
                                   hole.language)
        delta = max(delta, (local or 0) - before.local)
    if delta > 0:
        reasons.append(f"it adds {delta} syntax error{'s' if delta > 1 else ''} "
                       f"({hole.language} grammar)")
    return {"syntax": float(-max(0, delta))}


def _names(text: str, scope: NameScope | None, reasons: list[str]) -> None:
    unknown = None if scope is None or reasons else scope.unknown(text)
    if unknown:
        listed = ", ".join(f"`{name}`" for name in unknown)
        reasons.append(f"it reads {listed}, which the file never defines, imports or mentions")


def _overlap(text: str, suffix: str) -> float:
    """Share of the candidate's non-blank lines that already appear in the next lines of the
    suffix (a candidate that copies what follows it is not new code)."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    following = {ln.strip() for ln in suffix.split("\n")[:20] if ln.strip()}
    if not lines:
        return 0.0
    return sum(ln in following for ln in lines) / len(lines)


def _rank_score(rewards: dict[str, float], weights: Mapping[str, float]) -> float:
    overlap = 1.0
    if "retrieval" in rewards:  # a draft: a line the code already repeats is no sign against it
        evidence = draft_rank(rewards, weights)
        overlap = weights.get("overlap", 1.0)
    else:
        evidence = math.log(max(rewards.get("confidence", 0.0), 1e-6))
    return (evidence + 2.0 * rewards.get("syntax", 0.0)
            - overlap * rewards.get("suffix_overlap", 0.0)
            - ALTERNATIVE_COST * rewards.get("alternative", 0.0))
