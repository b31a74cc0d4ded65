"""Neovim with a workspace folder: the server indexes the files of the folder that are not
open, and ghost text offers a line that only one of them holds (real server, embedded model)."""

from __future__ import annotations

import pytest
from nvim_harness import assert_passed, server_cmd

from context_documents import ANSWER
from context_documents import HOLE as MAIN
from context_documents import OTHER as LIBRARY

pytestmark = [pytest.mark.nvim, pytest.mark.e2e]


def test_ghost_text_comes_from_a_file_of_the_workspace(run_nvim, tmp_path):
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (root / "pkg" / "settings_io.py").write_text(LIBRARY)  # never opened
    main = root / "main.py"
    main.write_text(MAIN)
    setup = {"cmd": server_cmd(), "ghost": {"debounce_ms": 30}}
    env = {"CD_ROW": "7", "CD_ANSWER": ANSWER, "CD_ROOT": str(root)}
    proc = run_nvim("workspace.lua", setup=setup, file=main, env=env)
    assert_passed(proc, "ghost text from the workspace")
