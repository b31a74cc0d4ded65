"""``python -m code_diffusion.bench.sizes``: each size is built, saved as an embedded model
directory, loaded by the engine and timed (structure only, never timings)."""

from __future__ import annotations

import json

from code_diffusion.bench import sizes
from code_diffusion.training.model import ModelSize


def test_each_size_is_loaded_by_the_engine_and_timed(monkeypatch, tmp_path):
    monkeypatch.setattr(sizes, "SIZES", {"tiny": ModelSize(64, 1, 2, 128),
                                         "deeper": ModelSize(64, 2, 2, 128)})
    monkeypatch.setattr(sizes, "REPEATS", 2)
    out = tmp_path / "sizes.json"
    assert sizes.main(["--tokens", "64", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert list(figures) == ["tiny, 64 tokens", "deeper, 64 tokens"]
    tiny, deeper = figures.values()
    # one more layer of width 64: attention (4 · 64²) and the GeGLU MLP (3 · 64 · 128), 2 norms
    assert deeper["parameters"] - tiny["parameters"] == 4 * 64 * 64 + 3 * 64 * 128 + 2 * 64
    for row in figures.values():
        assert row["full_pass_ms"] > 0 and row["block_pass_ms"] > 0
