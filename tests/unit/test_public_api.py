"""The public Python API: the engine's main names from ``code_diffusion``, loaded lazily, and
the quick-start example of the docs, run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "quickstart.py"
NAMES = ("CodeDiffusion", "CodeGenerator", "load_model", "GenerationRequest")


def _python(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CODE_DIFFUSION_THREADS": os.environ.get("CODE_DIFFUSION_THREADS", "1")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False,
                          timeout=300, env=env)


@pytest.mark.parametrize("package", ["code_diffusion", "code_diffusion.engine"])
def test_importing_the_names_does_not_import_torch(package):
    code = (f"import sys\nfrom {package} import GenerationRequest\n"
            f"import {package} as package\n"
            f"assert {list(NAMES)!r} == [n for n in {list(NAMES)!r} if n in dir(package)]\n"
            "GenerationRequest(num_samples=2)\n"
            "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr


def test_the_names_are_the_engine_objects():
    import code_diffusion
    from code_diffusion import engine
    from code_diffusion.engine import diffusion, generator, loading, types

    expected = {"CodeDiffusion": diffusion.CodeDiffusion, "CodeGenerator": generator.CodeGenerator,
                "load_model": loading.load_model, "GenerationRequest": types.GenerationRequest}
    for name, value in expected.items():
        assert getattr(code_diffusion, name) is value
        assert getattr(engine, name) is value


@pytest.mark.parametrize("package", ["code_diffusion", "code_diffusion.engine"])
def test_an_unknown_name_is_an_attribute_error(package):
    import importlib

    with pytest.raises(AttributeError, match="NoSuchThing"):
        importlib.import_module(package).NoSuchThing  # noqa: B018


def test_the_quickstart_example_fills_the_hole():
    assert len(EXAMPLE.read_text(encoding="utf-8").splitlines()) <= 10
    done = _python(str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    printed = done.stdout
    assert printed.startswith("def mean(values):\n    total = sum(values)\n    return ")
    assert printed.endswith("\n\n")  # the code's last line break, then print's
