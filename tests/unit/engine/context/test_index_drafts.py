"""The workspace index and draft matching."""

import sys

import pytest

from code_diffusion.engine.context import (
    ContextOptions,
    Draft,
    WorkspaceIndex,
    assemble_context,
    find_drafts,
)

DOCUMENT = """def area(box):
    width = box.right - box.left
    height = box.bottom - box.top
    return width * height


def perimeter(box):
    width = box.right - box.left
    |
    return 2 * (width + height)
"""


def hole(text: str) -> tuple[str, int]:
    at = text.index("|")
    return text[:at] + text[at + 1:], at


def test_continuation_from_the_same_file_is_reindented_and_scored_by_runs():
    text, at = hole(DOCUMENT)
    drafts = find_drafts(text, at, at)
    # up: one line above matches ("width = ..."; the def lines differ); down: none
    assert drafts[0] == Draft("height = box.bottom - box.top", 1.0, None, 2, "continuation")


def test_a_draft_found_only_in_another_workspace_file():
    text, at = hole("def load(path):\n    handle = open(path)\n    |\n    handle.close()\n")
    index = WorkspaceIndex()
    index.update("io_helpers.py", "def read(path):\n    handle = open(path)\n"
                                  "    data = handle.read()\n    handle.close()\n"
                                  "    return data\n")
    assert find_drafts(text, at, at, path="main.py") == []
    drafts = find_drafts(text, at, at, path="main.py", index=index)
    assert [(d.text, d.path, d.line, d.origin) for d in drafts] == [
        ("data = handle.read()", "io_helpers.py", 2, "continuation")]
    # the document's own indexed copy is never used for itself
    index.update("main.py", "def load(path):\n    handle = open(path)\n    stale()\n"
                            "    handle.close()\n")
    assert [d.path for d in find_drafts(text, at, at, path="main.py", index=index)] == [
        "io_helpers.py"]


def test_rest_of_line_completes_what_the_user_typed():
    text = "x = compute_total(items)\nprint(x)\n\nx = comp\n"
    at = text.index("comp\n") + 4
    drafts = find_drafts(text, at, at)
    assert drafts and drafts[0].text == "ute_total(items)"
    assert drafts[0].origin == "rest_of_line"


def test_drafts_are_deduplicated_and_limited():
    block = "    a = 1\n    b = 2\n"
    text, at = hole("def f():\n" + block * 5 + "    a = 1\n    |\n")
    drafts = find_drafts(text, at, at, max_drafts=3)
    texts = [d.text for d in drafts]
    assert len(texts) == len(set(texts)) <= 3
    assert texts[0] == "b = 2"


def test_index_update_and_remove_change_what_is_found():
    index = WorkspaceIndex()
    text, at = hole("first()\n|\nlast()\n")
    index.update("a.py", "first()\nmiddle_a()\nlast()\n")
    assert [d.text for d in find_drafts(text, at, at, index=index)] == ["middle_a()"]
    index.update("a.py", "first()\nmiddle_b()\nlast()\n")
    assert [d.text for d in find_drafts(text, at, at, index=index)] == ["middle_b()"]
    index.remove("a.py")
    assert find_drafts(text, at, at, index=index) == []
    assert index.file_count == 0 and index.paths() == []


def test_index_merges_layers_without_losing_files():
    index = WorkspaceIndex()
    for number in range(200):
        index.update(f"m{number}.py", f"start()\nvalue_{number}()\nend()\n")
    index.update("m7.py", "start()\nchanged()\nend()\n")
    found = sorted(item.path for item, _ in index.find_line("start()"))
    assert found == sorted(f"m{n}.py" for n in range(200))
    assert index.text("m7.py") == "start()\nchanged()\nend()\n"
    assert [i for item, i in index.find_line("changed()")] == [1]
    assert 0 < index.memory_bytes() < 10 * 2**20


def test_too_common_lines_are_not_used_as_anchors():
    index = WorkspaceIndex()
    index.update("a.py", "return\n" * 50)
    assert index.find_line("return", limit=10) == []
    assert len(index.find_line("return", limit=100)) == 50


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="start"):
        find_drafts("abc", 2, 1)
    with pytest.raises(TypeError, match="must be str"):
        WorkspaceIndex().update("a.py", b"bytes")
    with pytest.raises(ValueError, match="max_drafts"):
        ContextOptions(max_drafts=-1)
    with pytest.raises(ValueError, match="encode"):
        assemble_context("x\n", 0, 0, options=ContextOptions(prior_weight=0.5))


def test_the_context_package_imports_no_torch_or_lsp():
    import subprocess

    code = ("import sys, code_diffusion.engine.context as c; "
            "print(any(m in sys.modules for m in ('torch', 'pygls', 'lsprotocol')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_draft_lines_are_document_line_numbers_below_the_hole_too():
    text = "a()\n\nc()\nx()\nb()\na()\n\nc()\n"
    at = text.index("\n\nc()") + 1
    drafts = find_drafts(text, at, at)
    lines = text.split("\n")
    assert drafts and all(lines[d.line].strip() == d.text for d in drafts)
    assert {d.line for d in drafts} == {5, 7}


def test_indentation_that_disagrees_with_the_neighbours_lowers_a_place():
    text, at = hole("if a:\n    run()\nstop()\nx = 1\nif a:\n        run()\nstop()\n"
                    "y = 2\nif a:\n    |\nstop()\n")
    drafts = find_drafts(text, at, at)
    # both places give "run()" with runs 1 + 1; the nearer one is indented unlike the hole
    assert [(d.text, d.line, d.score) for d in drafts] == [("run()", 1, 2.0)]


def test_rest_of_line_from_a_file_where_the_neighbours_occur():
    index = WorkspaceIndex()
    index.update("lib.py", "def h(items):\n    for item in items:\n        pass\n"
                           "    return 0\n\n\ndef k(items):\n"
                           "    total = sum_weights(items, scale=2)\n")
    text = "def f(items):\n    for item in items:\n        pass\n    total = sum_w\n"
    at = text.index("sum_w") + len("sum_w")
    drafts = find_drafts(text, at, at, path="f.py", index=index)
    assert [(d.text, d.path, d.origin) for d in drafts] == [
        ("eights(items, scale=2)", "lib.py", "rest_of_line")]
