"""End-to-end tests: ``python -m code_diffusion serve`` with the embedded model, driven by
pytest-lsp's client as VS Code and as Neovim."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "unit" / "lsp")]  # real_server.py, session.py

from session import CLIENTS  # noqa: E402


@pytest.fixture(params=CLIENTS)
def capabilities(request: pytest.FixtureRequest) -> str:
    return request.param
