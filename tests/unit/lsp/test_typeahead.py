"""The typed-ahead cache on its own: what typing through an answer leaves of it, and when the
model has to run again."""

from __future__ import annotations

import pytest

from code_diffusion.lsp.typeahead import TypeAhead

KEY = ("file:///a.py", "inlineCompletion")
TEXT = "def f(xs):\n    return \n"
CURSOR = TEXT.index(" \n") + 1


def typed(chars: str) -> tuple[str, int]:
    return TEXT[:CURSOR] + chars + TEXT[CURSOR:], CURSOR + len(chars)


def cache() -> TypeAhead:
    c = TypeAhead()
    c.remember(KEY, TEXT, CURSOR, ["sum(xs)", "len(xs)", "sum(x for x in xs)"])
    return c


def test_same_position_serves_the_whole_answer():
    assert cache().recall(KEY, TEXT, CURSOR) == ["sum(xs)", "len(xs)", "sum(x for x in xs)"]


def test_typing_a_prediction_serves_the_rest_of_the_agreeing_candidates_in_order():
    c = cache()
    assert c.recall(KEY, *typed("s")) == ["um(xs)", "um(x for x in xs)"]
    assert c.recall(KEY, *typed("sum(x")) == ["s)", " for x in xs)"]
    assert c.recall(KEY, *typed("l")) == ["en(xs)"]
    assert (c.hits, c.misses) == (3, 0)


def test_the_model_runs_again_when_typing_leaves_the_answer():
    c = cache()
    assert c.recall(KEY, *typed("max")) is None  # predicted by no candidate
    assert c.recall(KEY, *typed("sum(xs)")) is None  # typed to its end: nothing left to show
    assert c.recall(KEY, TEXT, CURSOR - 1) is None  # cursor moved back
    assert c.recall(("file:///b.py", "inlineCompletion"), TEXT, CURSOR) is None
    assert c.recall((KEY[0], "completion"), TEXT, CURSOR) is None
    assert c.misses == 5


def test_an_edit_before_or_after_the_cursor_is_a_miss():
    c = cache()
    text, offset = typed("s")
    assert c.recall(KEY, text.replace("xs):", "ys):"), offset) is None  # same length, before
    assert c.recall(KEY, text + "# note\n", offset) is None  # after
    assert c.recall(KEY, text[:-1] + "\t", offset) is None  # after, same length


def test_duplicates_are_served_once_and_empty_answers_do_not_replace_an_answer():
    c = TypeAhead()
    c.remember(KEY, TEXT, CURSOR, ["ab", "ab", "ac", ""])
    c.remember(KEY, TEXT, CURSOR, [])
    assert c.recall(KEY, *typed("a")) == ["b", "c"]


def test_forget_drops_a_document_and_the_oldest_entries_go_first():
    c = TypeAhead(limit=2)
    for uri in ("file:///1", "file:///2", "file:///3"):
        c.remember((uri, "inlineCompletion"), TEXT, CURSOR, ["x"])
    assert len(c) == 2
    assert c.recall(("file:///1", "inlineCompletion"), TEXT, CURSOR) is None
    c.remember(("file:///3", "completion"), TEXT, CURSOR, ["x"])
    c.forget("file:///3")
    assert len(c) == 0


def test_held_back_candidates_are_served_only_when_asked_for():
    c = TypeAhead()
    c.remember(KEY, TEXT, CURSOR, ["sum(xs)", "sum(ys)", "len(xs)"], shown=[False, True, False])
    assert c.recall(KEY, *typed("su")) == ["m(ys)"]
    assert c.recall(KEY, *typed("su"), held_back=True) == ["m(xs)", "m(ys)"]
    assert c.recall(KEY, *typed("l")) is None  # only a held-back one agrees: the model runs
    assert c.recall(KEY, *typed("l"), held_back=True) == ["en(xs)"]


def test_an_answer_with_every_candidate_held_back_is_kept_for_a_request_that_asks():
    c = TypeAhead()
    c.remember(KEY, TEXT, CURSOR, ["x"], shown=[False])
    assert c.recall(KEY, TEXT, CURSOR) is None
    assert c.recall(KEY, TEXT, CURSOR, held_back=True) == ["x"]
    with pytest.raises(ValueError, match="2 candidates but 1 shown flags"):
        c.remember(KEY, TEXT, CURSOR, ["x", "y"], shown=[True])
