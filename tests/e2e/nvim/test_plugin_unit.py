"""The plugin in real nvim without a server: ghost text, keys, status, ranges, checkhealth."""

from __future__ import annotations

import sys

import pytest
from nvim_harness import assert_passed

pytestmark = pytest.mark.nvim


def test_plugin_logic_without_a_server(run_nvim):
    proc = run_nvim("unit.lua", setup={"lsp": False}, timeout=60)
    assert_passed(proc, "unit")


def test_checkhealth_finds_python_the_package_and_the_model(run_nvim):
    proc = run_nvim("health.lua", setup={"python": sys.executable}, timeout=120)
    assert_passed(proc, "checkhealth")
