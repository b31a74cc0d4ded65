"""Renamed drafts: a copied line takes the names the hole's neighbourhood uses."""

import pytest

from code_diffusion.engine.context import ContextOptions, WorkspaceIndex, assemble_context
from code_diffusion.engine.context.candidates import draft_candidate, draft_source
from code_diffusion.engine.context.renames import (
    aligned_renames,
    line_renames,
    neighbour_pairs,
    rename,
)
from code_diffusion.engine.types import Candidate
from context_documents import TWINS


def hole(text: str) -> tuple[str, int]:
    at = text.index("|")
    return text[:at] + text[at + 1:], at


def test_a_line_pair_that_differs_in_names_only_gives_its_renamings_and_their_roles():
    assert line_renames("_lists = self._lists", "_keys = self._keys") == [
        ("_lists", "_keys", ""), ("_lists", "_keys", ".")]
    assert line_renames("if a < b:", "if x < y:") == [("a", "x", ""), ("b", "y", "")]


@pytest.mark.parametrize("theirs, ours", [
    ("x = 1", "x = 1"),                       # the same line: nothing to learn
    ("x = f(a)", "x = f(a, b)"),              # other words
    ("x = a + b + c", "x = d + e + f"),       # more than two names
    ("return 1", "return 2"),                 # a number is not a name
    ("if x is None:", "if x is True:"),       # keywords stay
    ("self.grow()", "other.grow()"),          # so do the receivers
])
def test_pairs_that_say_nothing_about_names(theirs, ours):
    assert line_renames(theirs, ours) == []


def test_the_most_voted_renaming_wins_and_the_nearest_breaks_ties():
    pairs = [("a = b", "a = c"), ("b.f()", "d.f()"), ("g(b)", "g(d)")]
    assert aligned_renames(pairs) == {("b", ""): "d"}
    assert aligned_renames([("b", "c"), ("b", "d")]) == {("b", ""): "c"}


def test_renaming_is_simultaneous_and_never_merges_two_names():
    swap = {("a", ""): "b", ("b", ""): "a"}
    assert rename("a, b = b, a", swap) == ("b, a = a, b", (("a", "b"), ("b", "a")))
    assert rename("x = y + 1", {("x", ""): "y"}) == ("x = y + 1", ())
    assert rename("total += item", {("item", ""): "value", ("other", ""): "z"}) == (
        "total += value", (("item", "value"),))
    assert rename("items_count", {("items", ""): "values"}) == ("items_count", ())


def test_a_name_is_renamed_only_in_the_role_it_was_renamed_in():
    renames = aligned_renames([("def read(path):", "def load(path):")])
    assert rename("data = handle.read()", renames) == ("data = handle.read()", ())
    assert rename("return read(other)", renames) == ("return load(other)",
                                                     (("read", "load"),))
    renames = aligned_renames([("self.read()", "self.load()")])
    assert rename("x = handle . read()", renames)[0] == "x = handle . load()"
    assert rename("read()", renames)[0] == "read()"


def test_neighbour_pairs_align_nearest_with_nearest():
    theirs = ["a0", "a1", "PLACE", "b0", "b1"]
    ours = ["x0", "x1", "y0"]
    assert neighbour_pairs(theirs, 2, 3, ours, 2, 4) == [("a1", "x1"), ("a0", "x0"),
                                                         ("b0", "y0")]


def test_a_draft_from_a_twin_method_takes_the_holes_names():
    text, at = hole(TWINS)
    drafts = assemble_context(text, at, at, hole="line").drafts
    assert drafts[0].text == "_keys.insert(pos + 1, half)"
    assert drafts[0].renames == (("_lists", "_keys"),)
    assert drafts[0].line == 4
    assert draft_source(drafts[0]) == "this file:5, renamed _lists → _keys"
    plain = assemble_context(text, at, at, hole="line",
                             options=ContextOptions(rename_lines=0)).drafts
    assert plain[0].text == "_lists.insert(pos + 1, half)"
    assert plain[0].renames == ()


def test_a_line_renamed_to_start_with_what_the_user_typed_gives_the_rest():
    text, at = hole(TWINS.replace("        |\n", "        _keys.|\n"))
    drafts = assemble_context(text, at, at, hole="line").drafts
    assert drafts[0].text == "insert(pos + 1, half)"
    assert drafts[0].renames == (("_lists", "_keys"),)
    plain = assemble_context(text, at, at, hole="line",
                             options=ContextOptions(rename_lines=0)).drafts
    assert "insert(pos + 1, half)" not in [d.text for d in plain]


def test_renaming_works_on_workspace_drafts_too():
    document, at = hole(TWINS.split("\n\n\n")[1])
    index = WorkspaceIndex()
    index.update("lists.py", TWINS.split("\n\n\n")[0])
    drafts = assemble_context(document, at, at, path="keys.py", index=index,
                              hole="line").drafts
    assert drafts[0].text == "_keys.insert(pos + 1, half)"
    assert drafts[0].path == "lists.py"


def test_rename_lines_is_validated():
    with pytest.raises(ValueError, match="rename_lines must be an integer ≥ 0"):
        ContextOptions(rename_lines=-1)


def test_the_candidate_says_where_it_came_from():
    text, at = hole(TWINS)
    draft = assemble_context(text, at, at, hole="line").drafts[0]
    assert draft_candidate(draft, draft.text).provenance() == (
        "copied from this file:5, renamed _lists → _keys")
    assert Candidate(text="x", confidence=(0.5, 0.7)).provenance() == (
        "written by the model, confidence 0.60")
    assert Candidate(text="x", origin="edited_draft", source="a.py:3").provenance() == (
        "copied from a.py:3, edited by the model")
