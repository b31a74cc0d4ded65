"""The code actions' hole planning, on plain text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from code_diffusion.engine import actions
from code_diffusion.engine.actions import ActionPlan, Lines, available_actions, plan_action


def apply(text: str, plan: ActionPlan, candidate: str) -> str:
    start, end, new_text = plan.edit(candidate)
    return text[:start] + new_text + text[end:]


def check_consistent(text: str, plan: ActionPlan, candidate: str = "X = 1") -> str:
    """Filling the hole in the model's text equals applying the edit to the buffer."""
    filled = plan.text[:plan.start] + candidate + plan.text[plan.end:]
    assert apply(text, plan, candidate) == filled
    return filled


def offset(text: str, needle: str, shift: int = 0) -> int:
    return text.index(needle) + shift


def test_lines_handle_every_lsp_line_ending():
    lines = Lines("a\r\nbb\rccc\n")
    assert len(lines) == 4
    assert [lines.content(r) for r in range(4)] == ["a", "bb", "ccc", ""]
    assert lines.row(3) == 1
    assert lines.newline == "\r\n"


def test_generate_from_comment_on_the_blank_line_below():
    text = "import os\n# return the sum of a and b\n\nprint(1)\n"
    cursor = offset(text, "\nprint", 0)
    plan = plan_action(actions.GENERATE, text, cursor, cursor, "python")
    assert plan is not None
    assert plan.specification == "return the sum of a and b"
    assert (plan.edit_start, plan.edit_end) == (cursor, cursor)
    assert check_consistent(text, plan) == (
        "import os\n# return the sum of a and b\nX = 1\nprint(1)\n"
    )


def test_generate_from_comment_with_cursor_on_the_comment_opens_a_line():
    text = "def f(xs):\n    # sort xs in place\n    return xs\n"
    cursor = offset(text, "sort")
    plan = plan_action(actions.GENERATE, text, cursor, cursor, "python")
    assert plan is not None
    assert plan.specification == "sort xs in place"
    assert plan.before == "\n    "
    assert check_consistent(text, plan, "xs.sort()") == (
        "def f(xs):\n    # sort xs in place\n    xs.sort()\n    return xs\n"
    )


def test_generate_from_a_multi_line_comment_block_keeps_crlf():
    text = "# first\r\n# second\r\nx = 1"
    plan = plan_action(actions.GENERATE, text, 2, 2, "python")
    assert plan is not None
    assert plan.specification == "first\nsecond"
    assert check_consistent(text, plan, "y = 2") == "# first\r\n# second\r\ny = 2\r\nx = 1"


def test_generate_from_docstring():
    text = 'def add(a, b):\n    """Return the sum of a and b."""\n    \n'
    cursor = len(text) - 1
    plan = plan_action(actions.GENERATE, text, cursor, cursor, "python")
    assert plan is not None
    assert plan.specification == "Return the sum of a and b."
    assert check_consistent(text, plan, "return a + b") == (
        'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n'
    )


def test_generate_uses_the_language_comment_marker():
    text = "// add two numbers\n"
    assert plan_action(actions.GENERATE, text, 3, 3, "typescript") is not None
    assert plan_action(actions.GENERATE, text, 3, 3, "python") is None


def test_generate_not_offered_on_plain_code():
    text = "x = 1\ny = 2\n"
    assert plan_action(actions.GENERATE, text, 7, 7, "python") is None


@pytest.mark.parametrize("body", ["pass", "...", "pass  # TODO: sort them", "# TODO: sort them"])
def test_fill_body_for_stub_bodies(body):
    text = f"def sort_items(items):\n    {body}\n\nx = 1\n"
    cursor = offset(text, "sort_items")
    plan = plan_action(actions.FILL_BODY, text, cursor, cursor, "python")
    assert plan is not None
    assert plan.text[plan.start:plan.end] == body
    if "TODO" in body:
        assert plan.specification == "sort them"
    assert check_consistent(text, plan, "return sorted(items)") == (
        "def sort_items(items):\n    return sorted(items)\n\nx = 1\n"
    )


def test_fill_body_uses_the_docstring_as_specification():
    text = 'class A:\n    def f(self):\n        """Double it."""\n        ...\n'
    cursor = offset(text, "...")
    plan = plan_action(actions.FILL_BODY, text, cursor, cursor, "python")
    assert plan is not None
    assert plan.specification == "Double it."
    assert plan.text[plan.start:plan.end] == "..."


def test_fill_body_not_offered_for_real_bodies():
    text = "def f():\n    return 1\n"
    assert plan_action(actions.FILL_BODY, text, 3, 3, "python") is None


def test_fill_body_in_a_braced_language():
    text = "function f() {\n  // TODO: return one\n}\n"
    cursor = offset(text, "TODO")
    plan = plan_action(actions.FILL_BODY, text, cursor, cursor, "javascript")
    assert plan is not None
    assert plan.specification == "return one"
    assert check_consistent(text, plan, "return 1;") == "function f() {\n  return 1;\n}\n"


def test_regenerate_selection_masks_exactly_the_selection():
    text = "x = compute(1)\n"
    start, end = offset(text, "compute"), offset(text, "(")
    plan = plan_action(actions.REGENERATE, text, start, end, "python")
    assert plan is not None
    assert plan.text == text
    assert (plan.start, plan.end) == (start, end)
    assert plan_action(actions.REGENERATE, text, start, start, "python") is None


def test_repair_masks_the_broken_line_near_the_cursor():
    text = "def f(x):\n    return (x +\n\ny = 2\n"
    cursor = offset(text, "return")
    plan = plan_action(actions.REPAIR, text, cursor, cursor, "python")
    assert plan is not None
    assert plan.text[plan.start:plan.end] == "return (x +"
    assert check_consistent(text, plan, "return x + 1") == (
        "def f(x):\n    return x + 1\n\ny = 2\n"
    )


def test_repair_not_offered_far_from_the_error_or_without_a_grammar():
    text = "def f(:\n    pass\n" + "\n" * 10 + "y = 1\n"
    far = len(text) - 2
    assert plan_action(actions.REPAIR, text, 0, 0, "python") is not None
    assert plan_action(actions.REPAIR, text, far, far, "python") is None
    assert plan_action(actions.REPAIR, text, 0, 0, "cobol") is None


def test_available_actions_lists_in_order():
    text = "def f():\n    pass\n"
    cursor = offset(text, "pass")
    assert available_actions(text, cursor, cursor + 4, "python") == [
        actions.FILL_BODY, actions.REGENERATE,
    ]
    assert available_actions("x = 1\n", 0, 0, "python") == []


def test_bad_arguments_raise_with_a_message():
    with pytest.raises(ValueError, match="outside the text"):
        plan_action(actions.REGENERATE, "abc", 2, 9, None)
    with pytest.raises(ValueError, match="unknown action"):
        plan_action("explode", "abc", 0, 0, None)


def test_non_ascii_offsets_are_code_points():
    text = "s = '😀'\ndef f():\n    pass\n"
    cursor = offset(text, "pass")
    plan = plan_action(actions.FILL_BODY, text, cursor, cursor, "python")
    assert plan is not None
    assert plan.text[plan.start:plan.end] == "pass"


def test_planning_does_not_import_the_lsp_layer():
    code = ("import sys, code_diffusion.engine.actions; "
            "sys.exit(any(m.startswith(('pygls', 'lsprotocol')) for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
