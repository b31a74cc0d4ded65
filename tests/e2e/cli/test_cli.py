"""The command line against the real embedded model: outputs and one-sentence errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from context_documents import TWINS

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "code_diffusion", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def test_generate_from_a_specification_prints_distinct_candidates_at_most_num_samples():
    result = run("generate", "--spec", "return the sum of a list", "--language", "python",
                 "--num-samples", "3", "--batch-size", "2", "--json")
    assert result.returncode == 0, result.stderr
    candidates = json.loads(result.stdout)
    assert 1 <= len(candidates) <= 3
    assert len({c["text"].strip() for c in candidates}) == len(candidates)
    for candidate in candidates:
        assert {"text", "confidence", "forward_passes", "problems", "origin",
                "source"} <= set(candidate)
        assert candidate["origin"] == "denoised"
        assert candidate["forward_passes"] >= 1


def test_generate_fills_the_example_file():
    result = run("generate", "--file", "examples/stats.py", "--line", "9", "--col", "5")
    assert result.returncode == 0, result.stderr
    assert "candidate(s) at line 9, column 5" in result.stdout
    assert "Traceback" not in result.stderr


def test_generate_says_where_each_candidate_came_from(tmp_path):
    (tmp_path / "twin.py").write_text(TWINS.replace("|", ""))
    result = run("generate", "--file", str(tmp_path / "twin.py"), "--line", "13", "--col", "9")
    assert result.returncode == 0, result.stderr
    first = result.stdout.split("--- candidate 1: ", 1)[1].splitlines()
    assert first[0].startswith("copied from twin.py:5, renamed _lists → _keys; chance 0.")
    assert first[1] == "_keys.insert(pos + 1, half)"
    # the estimated chance that ghost text is measured against (inline.minChance)
    assert float(first[0].rsplit(" ", 1)[1]) >= 0.2
    assert "--- candidate 2: written by the model, confidence 0." in result.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--num-samples", "0"], "num_samples must be ≥ 1, got 0"),
    (["--precision", "float8"], "precision must be one of float32, bfloat16, float16"),
    (["--device", "cuda"], "device 'cuda' is not available"),
    (["--model", "/no/such/dir"], "model directory /no/such/dir does not exist"),
    (["--temperature", "-1"], "temperature must be between 0.0 and 10.0, got -1.0"),
])
def test_bad_parameters_exit_non_zero_with_one_sentence(args, says):
    result = run("generate", "--spec", "x", *args, timeout=120)
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_position_outside_the_file_is_an_error():
    result = run("generate", "--file", "examples/stats.py", "--line", "999", "--col", "1")
    assert result.returncode == 2
    assert "--line must be between 1 and" in result.stderr


def test_info_names_the_embedded_model():
    result = run("info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["model"]["family"] == "embedded"
    assert info["model"]["device"] == "cpu"
    assert info["defaults"]["num_samples"] == 1
