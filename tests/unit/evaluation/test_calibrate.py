"""The calibration fit: it recovers a known logistic, stays finite where a class is empty, and
its threshold table counts what would be shown."""

from __future__ import annotations

import math

import numpy as np
import pytest

from code_diffusion.engine.chance import Calibration
from code_diffusion.evaluation.calibrate import fit, shown_table

TRUE = Calibration(bias=-2.0, typed=1.0, evidence=1.5, typed_evidence=0.5)


def test_the_fit_recovers_a_known_logistic():
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(20_000):
        typed, evidence = bool(rng.integers(2)), float(rng.uniform(0, 4))
        rows.append((typed, evidence, bool(rng.random() < TRUE.chance(evidence, typed))))
    fitted = fit(rows, l2=0.0)
    for name in ("bias", "typed", "evidence", "typed_evidence"):
        assert getattr(fitted, name) == pytest.approx(getattr(TRUE, name), abs=0.25), name


def test_a_class_with_no_right_answer_gets_a_small_finite_chance():
    rows = [(False, e / 100, False) for e in range(100)] + [(True, 0.9, True)] * 5
    fitted = fit(rows)
    assert all(math.isfinite(v) for v in fitted.to_json().values())
    assert fitted.chance(0.5, False) < 0.05


def test_the_table_counts_what_each_threshold_shows():
    fitted = {"draft": Calibration(0, 0, 1, 0), "denoised": Calibration(-10, 0, 0, 0)}
    found = [("draft", False, 2.0, True), ("draft", False, -2.0, False),
             ("denoised", False, 0.9, False), ("draft", True, 0.0, True)]
    lines = shown_table(found, fitted)
    assert "whole line, from 0.2: shown 1/3, right 1/1, right when shown 100 %" in lines
    assert "rest of a started line, from 0.5: shown 1/1, right 1/1, right when shown 100 %" in lines
