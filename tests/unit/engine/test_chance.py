"""The chance estimate ghost text is shown on: the calibrations, what each kind of candidate
gets, and the embedded model's calibration loaded from its metadata."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from code_diffusion.engine.adapters.registry import EMBEDDED_METADATA
from code_diffusion.engine.chance import (
    DRAFTS,
    MIN_CHANCE,
    Calibration,
    chance,
    typed_before,
)
from code_diffusion.engine.context import ContextOptions
from code_diffusion.engine.errors import ModelLoadError
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.engine.loading import EMBEDDED_DIR, load_model
from code_diffusion.engine.types import Candidate

MODEL = Calibration(bias=-5.0, typed=1.8, evidence=0.7, typed_evidence=3.6)


def draft(retrieval: float, **fields) -> Candidate:
    return Candidate("x = 1", origin="draft", source="a.py:3",
                     rewards={"retrieval": retrieval}, **fields)


def test_the_chance_is_a_logistic_of_the_evidence():
    assert DRAFTS.chance(0.0, False) == pytest.approx(1 / (1 + math.exp(2.134)))
    values = [DRAFTS.chance(math.log1p(r), False) for r in (0, 1, 4, 16, 100)]
    assert values == sorted(values) and 0 < values[0] < values[-1] < 1
    # a started line is more often right than a whole line with the same evidence
    assert DRAFTS.chance(1.0, True) > DRAFTS.chance(1.0, False)
    assert Calibration(0, 0, 1e9, 0).chance(1.0, False) == pytest.approx(1.0)


def test_a_whole_line_needs_more_than_one_matching_neighbour():
    """One matching line (score 1) stays under the default; two (score 2) reach it; the rest
    of a started line reaches it with the rest-of-line base score alone (0.5)."""
    assert chance(draft(1.0), False, None) < MIN_CHANCE <= chance(draft(2.0), False, None)
    assert chance(draft(0.5), True, None) >= MIN_CHANCE


def test_what_each_candidate_gets():
    written = Candidate("y", confidence=(0.9, 0.5))
    assert chance(written, False, None) is None  # no calibration: no estimate
    assert chance(written, True, MODEL) == pytest.approx(MODEL.chance(0.7, True))
    assert chance(Candidate("y"), True, MODEL) is None  # no token probabilities
    assert chance(draft(4.0), False, MODEL) == chance(draft(4.0), False, None)
    assert chance(draft(4.0, problems=("it adds 1 syntax error",)), False, None) == 0.0


def test_typed_before():
    text = "def f():\n    ret\n    \n"
    assert typed_before(text, text.index("ret") + 3)
    assert not typed_before(text, text.index("    \n") + 4)
    assert not typed_before("x", 0)


@pytest.mark.parametrize("raw", [None, [], {"bias": 1}, {"bias": "1", "typed": 0, "evidence": 0,
                                                          "typed_evidence": 0},
                                 {"bias": math.nan, "typed": 0, "evidence": 0,
                                  "typed_evidence": 0},
                                 {"bias": True, "typed": 0, "evidence": 0, "typed_evidence": 0}])
def test_a_bad_calibration_is_refused_with_its_place(raw):
    with pytest.raises(ValueError, match=r"model\.json: a calibration needs the numbers bias"):
        Calibration.from_json(raw, "model.json")


def test_the_round_trip():
    assert Calibration.from_json(MODEL.to_json(), "x") == MODEL


def test_the_embedded_model_ships_a_calibration_and_its_candidates_carry_chances():
    model = load_model()
    raw = json.loads((EMBEDDED_DIR / EMBEDDED_METADATA).read_text())["calibration"]
    assert model.info.extra["calibration"] == raw
    text = ("def first(items):\n    total = 0\n    for item in items:\n"
            "        total += item.size\n    return total\n\n\n"
            "def second(items):\n    total = 0\n    for item in items:\n        \n"
            "    return total\n")
    cursor = text.rindex("        \n") + 8
    result = CodeGenerator(model).fill(text, cursor, context=ContextOptions(), steps=4,
                                       max_length=8, num_samples=1, require_passing=False)
    kinds = {c.origin for c in result.candidates}
    assert "draft" in kinds and "denoised" in kinds
    for candidate in result.candidates:
        assert candidate.chance is not None and 0.0 <= candidate.chance <= 1.0
        if candidate.origin == "denoised" and not candidate.problems:
            assert candidate.chance == pytest.approx(Calibration.from_json(raw, "").chance(
                candidate.mean_confidence, False))


def test_a_checkpoint_with_a_bad_calibration_is_refused_at_load(tmp_path: Path):
    copy = tmp_path / "model"
    shutil.copytree(EMBEDDED_DIR, copy)
    meta = json.loads((copy / EMBEDDED_METADATA).read_text())
    meta["calibration"] = {"bias": "high"}
    (copy / EMBEDDED_METADATA).write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"a calibration needs the numbers .* fix or remove"):
        load_model(copy)
