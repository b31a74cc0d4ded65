"""Fixtures for the Neovim tests (see nvim_harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nvim_harness import HERE, RunNvim, make_runner, skip_reason


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = skip_reason()
    if reason:
        for item in items:
            if item.path.parent == HERE:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def run_nvim(tmp_path: Path) -> RunNvim:
    """Run a Lua script of this directory in headless nvim; returns the finished process."""
    return make_runner(tmp_path)
