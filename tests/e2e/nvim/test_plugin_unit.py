"""The plugin's ghost-text, keymap, status and range logic in real nvim, with a stub client."""

from __future__ import annotations

import pytest
from nvim_harness import assert_passed

pytestmark = pytest.mark.nvim


def test_plugin_logic_without_a_server(run_nvim):
    proc = run_nvim("unit.lua", setup={"lsp": False}, timeout=60)
    assert_passed(proc, "unit")
