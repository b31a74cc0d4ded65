"""``code-diffusion bench --quick``: it runs and writes every figure the issue asks for.

Structure and counts only, never timings (timed tests flake on shared machines).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from code_diffusion.bench import samplers, workloads

pytestmark = [pytest.mark.e2e]
PER_SETTING = ("p50_ms", "p95_ms", "forward_passes", "tokens_per_forward", "quality")
TOP = ("lsp_over_direct", "initialize_ms", "first_completion_ms")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    docs = out / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "code_diffusion", "bench", "--quick", "--profile", "--json",
         str(out / "out.json"), "--write-docs", "--docs", str(docs), "--images",
         str(out / "images")],
        capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "out.json").read_text()), docs, out / "images"


def test_top_level_figures(run):
    figures, _, _ = run
    for key in TOP:
        assert isinstance(figures[key], int | float), key
    assert figures["initialize_over_bare"] > 0
    assert figures["machine"]["cores"] >= 1 and figures["machine"]["torch"]
    assert figures["date"]
    compiled = figures["torch_compile"]
    assert "error" in compiled or compiled["compiled_ms"] > 0, compiled


def test_typing_into_a_suggestion_is_served_from_the_last_answer(run):
    typing = run[0]["type_through"]
    # typing the top suggestion's first character always leaves the rest of it to serve
    assert typing["served_without_model"] == typing["requests"]
    assert typing["continued_the_suggestion"] == typing["requests"]
    assert typing["model_runs"] >= typing["requests"]


def test_profile_charges_the_time_to_the_engine(run):
    figures, docs, _ = run
    for name in ("line", "block"):
        found = figures["profile"][name]
        assert found["requests"] == 3
        functions = [f["function"] for f in found["by_function"]]
        assert any(f.startswith("engine.") for f in functions), functions
        assert 0.99 <= sum(lib["share"] for lib in found["by_library"]) <= 1.01
        tree = Path(found["call_tree"])
        assert "fill" in tree.read_text()
    assert "Where the time goes" in docs.read_text()


def test_every_workload_and_sampler_has_its_figures(run):
    figures, _, _ = run
    assert set(figures["workloads"]) == set(workloads.WORKLOADS)
    for name, workload in figures["workloads"].items():
        keys = [s.key for s in samplers.settings() if s.runs_on(name)]
        assert list(workload["samplers"]) == keys
        assert samplers.REFERENCE in keys and samplers.DEFAULT in keys
        for key, row in workload["samplers"].items():
            for field in PER_SETTING:
                assert field in row, (name, key, field)
            assert row["requests"] == 3
            assert row["quality"] is not None and 0 <= row["quality"] <= 1
            assert row["forward_passes"] >= 1
        assert set(figures["ratios"][name]) >= {"forward_passes", "wall_time_p50"}


def test_the_default_uses_fewer_passes_than_the_reference(run):
    """Counts, on the same requests: on a block hole the reference commits exactly one real
    token per pass over a 64-slot canvas; the default is bounded by its step budget."""
    figures, _, _ = run
    for name in (workloads.BLOCK, workloads.HUMANEVAL_BLOCK):
        rows = figures["workloads"][name]["samplers"]
        reference, default = rows[samplers.REFERENCE], rows[samplers.DEFAULT]
        assert reference["forward_passes"] == samplers.BLOCK_MAX_LENGTH
        assert reference["tokens_per_forward"] == 1.0
        assert default["forward_passes"] < reference["forward_passes"]
    fills = [f for f in figures["fills"] if f["setting"] == samplers.REFERENCE]
    assert all(f["forward_passes"] <= samplers.BLOCK_MAX_LENGTH for f in fills)


def test_server_and_scaling_figures(run):
    figures, _, _ = run
    for name in (workloads.LINE, workloads.BLOCK, workloads.ACTION):
        row = figures["lsp"][name]
        assert row["requests"] == 3
        assert row["lsp"]["p50"] > 0 and row["direct"]["p50"] > 0
    lengths = figures["scaling"]["completion_length"]
    assert [row["tokens"] for row in lengths] == [8, 16, 32, 64]
    for row in lengths:
        assert row["reference"]["forward_passes"] == row["tokens"]
        assert row["default"]["forward_passes"] <= row["tokens"]
    for row in figures["scaling"]["context"]:
        assert row["window_tokens"] <= figures["scaling"]["max_context"]
    assert figures["peak_rss_mb"]["bench_process"] > 0


def test_docs_section_and_plots(run):
    _, docs, images = run
    text = docs.read_text()
    assert "<!-- eval:begin -->" in text and "<!-- bench:end -->" in text
    assert "code-diffusion bench --quick" in text
    pngs = sorted(p.name for p in images.glob("*.png"))
    assert len(pngs) == 3
    for png in images.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
