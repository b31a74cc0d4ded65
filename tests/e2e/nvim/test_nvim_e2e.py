"""The Neovim plugin in real headless nvim against the real server and the embedded model.

Each test starts ``python -m code_diffusion serve`` (this checkout, ``sys.executable``) through
``setup()`` and drives nvim with keys, as a user would. Nothing is faked: the suggestion, the menu
items and the code action's edit come from the embedded model. The model is small and does not
write something at every position, so a script may try a few positions (``CD_ROWS``) and use the
first where the server answers with something; what it then asserts is exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nvim_harness import assert_passed, server_cmd

pytestmark = [pytest.mark.nvim, pytest.mark.e2e]

# Lines that end where code is expected (the cursor goes to the end of lines 6, 10, 16, 20).
HOLES = "\n".join(
    [
        "def mean(values):",
        '    """Return the arithmetic mean of a list of numbers."""',
        "    total = 0",
        "    for value in values:",
        "        total += value",
        "    return ",
        "",
        "",
        "def is_even(n):",
        "    return n % 2 == ",
        "",
        "",
        "class Point:",
        "    def __init__(self, x, y):",
        "        self.x = x",
        "        self.y = ",
        "",
        "",
        "def count(items):",
        "    total = ",
        "",
    ]
)
HOLE_ROWS = "6,10,16,20"

# Two stubs whose body is `pass` (lines 3 and 8), and a finished function to regenerate parts of.
STUBS = "\n".join(
    [
        "def area(width, height):",
        '    """Return the area of a rectangle."""',
        "    pass",
        "",
        "",
        "def is_even(n):",
        '    """Return True if n is even."""',
        "    pass",
        "",
        "",
        "def mean(values):",
        '    """Return the arithmetic mean of a list of numbers."""',
        "    total = 0",
        "    for value in values:",
        "        total += value",
        "    return total / len(values)",
        "",
    ]
)
# "Fill in body" first; "Regenerate selection" (`total / len(values)`, then `0`) if the small
# model writes no body that parses. Ranges: 1-based rows, 0-based byte columns, end exclusive.
ACTION_ATTEMPTS = [
    {"action": "fill_body", "row": 3},
    {"action": "fill_body", "row": 8},
    {"action": "regenerate", "range": [16, 11, 16, 30]},
    {"action": "regenerate", "range": [13, 12, 13, 13]},
]


def setup_options() -> dict:
    return {"cmd": server_cmd(), "ghost": {"debounce_ms": 30}}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ghost_text_is_shown_and_accepted_with_tab(run_nvim, tmp_path):
    """Whatever the model writes is shown here (``inline.minChance`` 0): the test is about how
    ghost text is drawn and accepted; the workspace test runs with the default threshold."""
    doc = write(tmp_path, "holes.py", HOLES)
    setup = {**setup_options(), "settings": {"inline": {"minChance": 0}}}
    proc = run_nvim("ghost.lua", setup=setup, file=doc, env={"CD_ROWS": HOLE_ROWS})
    assert_passed(proc, "ghost text shown and accepted")


def test_completion_menu_inserts_a_candidate(run_nvim, tmp_path):
    doc = write(tmp_path, "holes.py", HOLES)
    proc = run_nvim("completion.lua", setup=setup_options(), file=doc, env={"CD_ROWS": HOLE_ROWS})
    assert_passed(proc, "completion inserted a candidate")


def test_code_action_edit_lands_in_the_buffer(run_nvim, tmp_path):
    doc = write(tmp_path, "stubs.py", STUBS)
    env = {"CD_ATTEMPTS": json.dumps(ACTION_ATTEMPTS)}
    proc = run_nvim("code_action.lua", setup=setup_options(), file=doc, env=env)
    assert_passed(proc, "code action edit applied")


def test_tab_without_a_suggestion_still_indents(run_nvim, tmp_path):
    doc = write(tmp_path, "holes.py", HOLES)
    proc = run_nvim("tab.lua", setup=setup_options(), file=doc, env={"CD_ROW": "6"})
    assert_passed(proc, "tab falls through")
