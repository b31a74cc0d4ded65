"""``code-diffusion bench --first-minute --model DIR`` measures DIR, in the direct calls and in
the server it starts (it used to measure the embedded model whatever ``--model`` said)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from code_diffusion.bench.lsp import server_model
from code_diffusion.engine.loading import EMBEDDED_DIR

pytestmark = [pytest.mark.e2e]


def test_the_server_is_told_the_model_directory(tmp_path):
    assert server_model(None) == {}
    assert server_model(str(tmp_path)) == {"modelPath": str(tmp_path.resolve())}


def test_first_minute_measures_the_model_it_is_given(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(EMBEDDED_DIR, model)
    meta = json.loads((model / "code_diffusion.json").read_text())
    meta["name"] = "bench-copy"
    (model / "code_diffusion.json").write_text(json.dumps(meta))
    out = tmp_path / "first-minute.json"
    done = subprocess.run(
        [sys.executable, "-m", "code_diffusion", "bench", "--first-minute", "--quick",
         "--model", str(model), "--json", str(out)],
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    figures = json.loads(out.read_text())
    assert figures["model"]["name"] == "bench-copy"
    assert Path(figures["model"]["path"]).resolve() == model.resolve()
    assert figures["lsp"]["line"]["requests"] >= 1
