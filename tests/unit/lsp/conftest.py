"""LSP tests against the real server with the fake model (``fake_server.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # session.py, and tests/ for fakes.py

from session import CLIENTS  # noqa: E402


@pytest.fixture(params=CLIENTS)
def capabilities(request: pytest.FixtureRequest) -> str:
    """Each test runs as VS Code and as Neovim (pytest-lsp's capability sets)."""
    return request.param
