"""End-to-end tests: ``python -m code_diffusion serve`` with the embedded model, driven by
pytest-lsp's client as VS Code and as Neovim."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "lsp"))  # session.py: the client driver

from session import CLIENTS  # noqa: E402

SERVER = [sys.executable, "-m", "code_diffusion", "serve"]
MODEL = os.environ.get("CODE_DIFFUSION_E2E_MODEL")
"""A checkpoint directory to write code with instead of the embedded model (e.g. a newer one)."""
WRITER = [*SERVER, "--model", MODEL] if MODEL else SERVER
"""The server the generation tests use."""
FAST = {"steps": 8, "maxLength": 16, "numSamples": 2}
"""Live settings that keep generation short on a busy CPU."""
LOAD_TIMEOUT = 300.0
"""Seconds torch and the embedded model may take to load on a loaded two-core machine."""


@pytest.fixture(params=CLIENTS)
def capabilities(request: pytest.FixtureRequest) -> str:
    return request.param
