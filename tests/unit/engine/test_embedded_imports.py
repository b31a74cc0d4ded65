"""The embedded model's path imports no transformers module (nor what transformers pulls in).

Each check runs in a fresh interpreter: the test process itself has transformers loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("transformers", "sympy", "torch._dynamo")
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "stats.py"


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report() -> str:
    return ("import json, sys\n"
            f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
            f"or m.startswith({HEAVY!r})]\n"
            "print(json.dumps({'heavy': sorted(heavy), 'torch': 'torch' in sys.modules}))\n")


def test_loading_and_filling_with_the_embedded_model_imports_no_transformers():
    code = ("from code_diffusion.engine.generator import CodeGenerator\n"
            "from code_diffusion.engine.loading import load_model\n"
            "generator = CodeGenerator(load_model())\n"
            "result = generator.fill('def add(a, b):\\n    return \\n', 26, num_samples=1,\n"
            "                        steps=4, require_passing=False)\n"
            "assert len(result.candidates) == 1\n" + _report())
    found = _run(code)
    assert found["torch"]  # the model ran
    assert found["heavy"] == []


def test_the_generate_command_imports_no_transformers():
    code = ("import contextlib, io\n"
            "from code_diffusion.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    status = main(['generate', '--file', {str(EXAMPLE)!r}, '--line', '9',\n"
            "                   '--col', '5', '--num-samples', '1', '--steps', '4'])\n"
            "assert status == 0, status\n" + _report())
    assert _run(code)["heavy"] == []


def test_another_family_still_loads_through_transformers(tmp_path):
    """A ModernBERT directory without the embedded model's metadata is not the embedded
    family: it loads through transformers, as before."""
    from tiny_models import embedded_backbone

    embedded_backbone(tmp_path, metadata=False)  # transformers has no copy head
    code = ("from code_diffusion.engine.loading import load_model\n"
            f"model = load_model({str(tmp_path)!r})\n"
            "assert type(model.denoiser.model).__name__ == 'ModernBertForMaskedLM'\n"
            "assert model.info.family == 'masked-lm'\n" + _report())
    assert "transformers" in _run(code)["heavy"]
