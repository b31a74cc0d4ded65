"""How candidates become inline and menu items: auto-closed brackets, labels."""

from __future__ import annotations

import pytest

from code_diffusion.engine.languages import closers_end, with_closers
from code_diffusion.lsp.features.completion import label


@pytest.mark.parametrize(("line", "replaced"), [
    ("print(|)", ")"), ("f(a, [|])", "])"), ("s = '|'", "'"), ("x = (|)  ", ")  "),
    ("x = |", ""), ("f(|) + 1", ""), ("f(|x)", ""), ("|", ""), ("call(|)\nnext()", ")"),
])
def test_the_range_covers_only_closers_to_the_end_of_the_line(line, replaced):
    text = line.replace("|", "")
    offset = line.index("|")
    assert text[offset:closers_end(text, offset)] == replaced


@pytest.mark.parametrize(("candidate", "tail", "expected"), [
    ('"hello"', ")", '"hello")'), ('"hello")', ")", '"hello")'), ("x", "", "x"),
    ("a,\n    b", "])", "a,\n    b])"),
])
def test_closers_are_carried_once(candidate, tail, expected):
    assert with_closers(candidate, tail) == expected


def test_labels_are_the_first_line_shortened():
    assert label("return x") == "return x"
    assert label("\n  if x:\n      return 1") == "if x:…"
    assert label("y" * 70) == "y" * 60 + "…"
