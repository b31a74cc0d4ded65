"""The Neovim plugin in real headless nvim against the real server and the embedded model.

Each test starts ``python -m code_diffusion serve`` (this checkout, ``sys.executable``) through
``setup()`` and drives nvim with keys, as a user would. Nothing is faked: the suggestion, the menu
items and the code action's edit come from the embedded model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nvim_harness import assert_passed, server_cmd

pytestmark = [pytest.mark.nvim, pytest.mark.e2e]


def setup_options(**ghost: object) -> dict:
    return {"cmd": server_cmd(), "ghost": {"debounce_ms": 30, **ghost}}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


STATS = "\n".join(
    [
        "def mean(values):",
        '    """Return the arithmetic mean of a list of numbers."""',
        "    total = 0",
        "    for value in values:",
        "        total += value",
        "    return ",  # the cursor goes at the end of this line
        "",
    ]
)


def test_ghost_text_is_shown_and_accepted_with_tab(run_nvim, tmp_path):
    doc = write(tmp_path, "stats.py", STATS)
    proc = run_nvim("ghost.lua", setup=setup_options(), file=doc, env={"CD_ROW": "6"})
    assert_passed(proc, "ghost text shown and accepted")


def test_completion_menu_inserts_a_candidate(run_nvim, tmp_path):
    doc = write(tmp_path, "stats.py", STATS)
    proc = run_nvim("completion.lua", setup=setup_options(), file=doc, env={"CD_ROW": "6"})
    assert_passed(proc, "completion inserted a candidate")


def test_fill_in_body_edit_lands_in_the_buffer(run_nvim, tmp_path):
    doc = write(
        tmp_path,
        "shapes.py",
        'def area(width, height):\n    """Return the area of a rectangle."""\n    pass\n',
    )
    proc = run_nvim("code_action.lua", setup=setup_options(), file=doc, env={"CD_ROW": "3"})
    assert_passed(proc, "code action edit applied")


def test_tab_without_a_suggestion_still_indents(run_nvim, tmp_path):
    doc = write(tmp_path, "stats.py", STATS)
    proc = run_nvim("tab.lua", setup=setup_options(), file=doc, env={"CD_ROW": "6"})
    assert_passed(proc, "tab falls through")
