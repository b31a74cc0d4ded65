"""The snippet budget and format, and the cache prior's algebra."""

import pytest
import torch

from code_diffusion.engine.context import (
    CachePriorProcessor,
    ContextOptions,
    NgramCache,
    Snippet,
    WorkspaceIndex,
    assemble_context,
    render_snippets,
    select_snippets,
    slot_contexts,
)


def words(text: str) -> int:
    return len(text.split())


def test_snippets_respect_the_token_budget_of_the_given_counter():
    candidates = [Snippet("a.py", n * 10, "x = 1\ny = 2\nz = 3", float(n)) for n in range(6)]
    one = words(render_snippets(candidates[:1], "python"))
    chosen = select_snippets(candidates, budget=2 * one + 1, count_tokens=words,
                             language="python", max_snippets=10)
    assert len(chosen) == 2
    assert words(render_snippets(chosen, "python")) <= 2 * one + 1
    assert [s.score for s in chosen] == [4.0, 5.0]  # best last, next to the prefix
    assert select_snippets(candidates, 0, words, "python") == []


def test_render_format_names_the_file_in_the_language_comment():
    snippets = [Snippet("lib/util.py", 0, "def f():\n    pass", 1.0),
                Snippet(None, 41, "x = 1\n", 2.0)]
    assert render_snippets(snippets, "python") == (
        "# lib/util.py:1\ndef f():\n    pass\n# this file:42\nx = 1\n")
    assert render_snippets(snippets[:1], "typescript").startswith("// lib/util.py:1\n")
    assert render_snippets([], "python") == ""


def test_assembled_snippets_come_from_other_files_within_budget():
    index = WorkspaceIndex()
    index.update("other.py", "def g(path):\n    handle = open(path)\n    data = handle.read()\n"
                             "    handle.close()\n")
    text = "def f(path):\n    handle = open(path)\n    \n    handle.close()\n"
    at = text.index("    \n") + 4
    context = assemble_context(text, at, at, path="f.py", language="python", index=index,
                               count_tokens=words)
    assert context.drafts[0].text == "data = handle.read()"
    assert context.preamble.startswith("# other.py:1\ndef g(path):\n")
    assert words(context.preamble) <= ContextOptions().snippet_budget
    off = assemble_context(text, at, at, path="f.py", index=index,
                           options=ContextOptions(workspace=False))
    assert off.drafts == () and off.preamble == ""


def ids(text: str) -> list[int]:
    return [ord(c) for c in text]


def test_weight_zero_leaves_logits_unchanged():
    cache = NgramCache.of_texts(["abcabc"], ids)
    logits = torch.randn(2, 128)
    before = logits.clone()
    out = CachePriorProcessor(cache, [ids("ab"), ids("b")], weight=0.0)(logits)
    assert torch.equal(out, before)


def test_a_strong_prior_moves_argmax_to_the_cached_continuation():
    cache = NgramCache.of_texts(["total = price * qty"], ids)
    logits = torch.zeros(1, 128)
    logits[0, ord("z")] = 3.0
    processor = CachePriorProcessor(cache, [ids("pr")], weight=1.0)
    assert int(processor(logits.clone()).argmax()) == ord("i")
    weak = CachePriorProcessor(cache, [ids("pr")], weight=0.1)
    assert int(weak(logits.clone()).argmax()) == ord("z")


def test_prior_changes_only_seen_tokens_by_the_documented_amount():
    cache = NgramCache.of_texts(["ab", "ac"], ids, order=2)
    assert cache.distribution(ids("a")) == {ord("b"): 0.5, ord("c"): 0.5}
    logits = torch.zeros(1, 100)
    out = CachePriorProcessor(cache, [ids("a")], weight=2.0, mix=0.5)(logits.clone())
    expected = 2.0 * torch.log1p(torch.tensor(0.5 * 100 / 0.5 * 0.5))
    assert torch.allclose(out[0, ord("b")], expected)
    assert torch.count_nonzero(out) == 2
    assert torch.equal(CachePriorProcessor(cache, [[]], 2.0)(logits.clone()), logits)


def test_prior_validates_and_matches_rows():
    cache = NgramCache.of_texts(["ab"], ids)
    with pytest.raises(ValueError, match="weight"):
        CachePriorProcessor(cache, [[]], weight=-1)
    with pytest.raises(ValueError, match="rows"):
        CachePriorProcessor(cache, [[]], weight=1)(torch.zeros(2, 10))
    with pytest.raises(ValueError, match="order"):
        NgramCache(order=1)


def test_slot_contexts_stop_at_masks():
    assert slot_contexts([5, 6, 7, 0, 0, 8, 0], [3, 4, 6], mask_id=0) == [[6, 7], [], [8]]


def test_assembled_prior_counts_the_document():
    text = "alpha beta\nalpha "
    context = assemble_context(text, len(text), len(text),
                               options=ContextOptions(prior_weight=0.5), encode=ids)
    after = context.prior.distribution(ids("alpha"))
    assert max(after, key=after.get) == ord(" ")
    assert context.prior_processor([ids("a")]).weight == 0.5


def test_a_line_hole_gets_one_line_drafts_a_block_hole_more():
    text = "x()\nstart()\none()\ntwo()\nend()\n\nx()\nstart()\n\nend()\n"
    at = text.rindex("\n\nend()") + 1
    line = assemble_context(text, at, at, hole="line")
    block = assemble_context(text, at, at, hole="block")
    assert [d.text for d in line.drafts][:1] == ["one()"]
    assert [d.text for d in block.drafts][:1] == ["one()\ntwo()"]
    with pytest.raises(ValueError, match="hole must be"):
        assemble_context(text, at, at, hole="span")
