"""Shared pieces of the training tests."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from code_diffusion.training.export import EMBEDDED_DIR


def _tiny_run(tmp_path):
    """A run directory with a small token array and the shipped tokenizer (no corpus build)."""
    run = tmp_path / "run"
    run.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, size in (("train", 50_000), ("valid", 5_000)):
        rng.integers(4, 4096, size).astype(np.uint16).tofile(run / f"{split}.bin")
    shutil.copy(EMBEDDED_DIR / "tokenizer.json", run / "tokenizer.json")
    (run / "data_stats.json").write_text(json.dumps({"train_tokens": 50_000}))
    return run


@pytest.fixture
def tiny_run():
    """``tiny_run(folder)``: a run directory under ``folder`` (see :func:`_tiny_run`)."""
    return _tiny_run
