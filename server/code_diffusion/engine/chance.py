"""The chance that a candidate is the text the user would write: what ghost text is shown on.

Ghost text appears unasked, as the user types, so a wrong one costs attention every time. The
editor shows it only when its estimated chance of being right reaches a threshold (the
language server's ``inline.minChance``); the completion menu and the code actions, which the
user asks for, list every candidate.

The estimate is a logistic function of the evidence a candidate carries, fitted on the tuning
seeds (1 and 2) of ``repo-single-line`` and ``repo-rest-of-line`` with the language server's
ghost-text settings (``python -m code_diffusion.evaluation.calibrate``):

* a draft (copied, or copied and edited): ``log(1 + retrieval score)`` (how much of the
  neighbourhood matched; ``engine/context/drafts.py``). Its constants are the engine's own
  (:data:`DRAFTS`): retrieval does not depend on the model;
* a denoised candidate: the mean probability of its tokens. How that maps to a chance depends on
  the model, so its constants come with the model (the ``calibration`` entry of an embedded
  checkpoint's ``code_diffusion.json``); a model without them gets no estimate (``None``), and
  what it writes is shown as before.

Each calibration has a term for a line the user has started typing (``typed``): the rest of a
started line is much more often right than a whole line (the typed head narrows it down).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from code_diffusion.engine.types import Candidate

DRAFT_ORIGINS = ("draft", "edited_draft")
MIN_CHANCE = 0.2
"""The language server's default ``inline.minChance``. Chosen on the tuning seeds: from 0.2 up,
ghost text for a whole line is shown half as often and is right about twice as often (65 %
against 34 % of the time), keeping 87 % of the right lines; the rest of a started line keeps
96 % of its right answers."""


@dataclass(frozen=True)
class Calibration:
    """``chance = σ(bias + typed·t + evidence·e + typed·evidence·te)``."""

    bias: float
    typed: float
    evidence: float
    typed_evidence: float

    def chance(self, evidence: float, typed: bool) -> float:
        t = 1.0 if typed else 0.0
        z = (self.bias + t * self.typed + evidence * self.evidence
             + t * evidence * self.typed_evidence)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> dict[str, float]:
        return {"bias": self.bias, "typed": self.typed, "evidence": self.evidence,
                "typed_evidence": self.typed_evidence}

    @classmethod
    def from_json(cls, raw: Any, where: str) -> Calibration:
        """A calibration from its JSON object; ``where`` names the file in the error."""
        names = ("bias", "typed", "evidence", "typed_evidence")
        if not isinstance(raw, Mapping) or any(
                not isinstance(raw.get(n), (int, float)) or isinstance(raw.get(n), bool)
                or not math.isfinite(raw[n]) for n in names):
            raise ValueError(f"{where}: a calibration needs the numbers {', '.join(names)}, "
                             f"got {raw!r}")
        return cls(*(float(raw[n]) for n in names))


DRAFTS = Calibration(bias=-2.134, typed=1.17, evidence=0.983, typed_evidence=0.085)
"""Drafts: evidence ``log(1 + retrieval)``, fitted on the tuning seeds (any model)."""


def typed_before(text: str, start: int) -> bool:
    """True when the hole's line holds something other than indentation before ``start``."""
    return bool(text[text.rfind("\n", 0, start) + 1 : start].strip())


def chance(candidate: Candidate, typed: bool, model: Calibration | None) -> float | None:
    """The candidate's estimated chance of being right: 0 when it failed a check, ``None``
    for a denoised candidate of a model without a calibration."""
    if candidate.problems:
        return 0.0
    if candidate.origin in DRAFT_ORIGINS and "retrieval" in candidate.rewards:
        evidence = math.log1p(max(0.0, candidate.rewards["retrieval"]))
        return DRAFTS.chance(evidence, typed)
    if model is None or not candidate.confidence:
        return None
    return model.chance(candidate.mean_confidence, typed)
