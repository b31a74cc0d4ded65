"""Context-format training windows are the canvases the engine builds for the same holes, the
mixture keeps its shares, and the loss is computed at the hole only."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch

from code_diffusion.engine.canvas import build_canvas
from code_diffusion.engine.context import ContextOptions, assemble_context
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.engine.loading import load_model
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.training import windows
from code_diffusion.training.mixture import MixtureBatches
from code_diffusion.training.model import build_model
from code_diffusion.training.objective import MASK_ID, PAD_ID, diffusion_loss

SOURCE = '''import os


def read_config(path):
    with open(path) as handle:
        text = handle.read()
    return parse(text)


def parse(text):
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def merge(first, second):
    merged = dict(first)
    for key, value in second.items():
        if key not in merged:
            merged[key] = value
    return merged


def describe(values):
    parts = []
    for key in sorted(values):
        parts.append(f"{key}: {values[key]}")
    return ", ".join(parts)


def count_keys(values):
    total = 0
    for key in values:
        total += 1
    return total


class Store:
    def __init__(self, root):
        self.root = root
        self.items = {}

    def load(self, name):
        with open(os.path.join(self.root, name)) as handle:
            text = handle.read()
        return parse(text)

    def save(self, name, values):
        lines = [f"{key}={value}" for key, value in values.items()]
        with open(os.path.join(self.root, name), "w") as handle:
            handle.write("\\n".join(lines))
'''


class _Captured(Exception):
    pass


@pytest.fixture(scope="module")
def engine():
    return load_model()


def _server_canvas(engine, hole: windows.Hole, monkeypatch, row: int,
                   max_length: int = windows.DEFAULT_MAX_LENGTH) -> list[int]:
    """Row ``row`` of the canvas ``CodeGenerator.fill`` builds for the hole (8 candidates, the
    hole's kind and specification, ``max_length``), with the preamble of ``assemble_context``
    under the default ``ContextOptions``."""
    generator = CodeGenerator(engine)
    kind = hole.kind
    context = assemble_context(hole.document, hole.cursor, hole.cursor, language="python",
                               options=ContextOptions(), hole=kind)
    seen = {}

    def stream(request, options):
        seen["request"], seen["options"] = request, options
        raise _Captured

    with monkeypatch.context() as patch:
        patch.setattr(generator.model, "stream", stream)
        with pytest.raises(_Captured):
            generator.fill(hole.document, hole.cursor, language="python", num_samples=8,
                           specification=hole.specification, hole=hole.hole,
                           max_length=max_length,
                           sampler=SamplerOptions(preamble=context.preamble))
    template = build_canvas(engine.denoiser, seen["request"], seen["options"])
    return template.rows([row]).ids[0].tolist()


def _holes(rng) -> list[windows.Hole]:
    spans = windows._line_spans(SOURCE)
    found = [windows.line_hole(SOURCE, spans, rng) for _ in range(6)]
    found += [windows.rest_of_line_hole(SOURCE, spans, rng) for _ in range(4)]
    found += [windows.block_hole(SOURCE, spans, rng) for _ in range(4)]
    return [h for h in found if h is not None]


def test_a_training_window_is_the_canvas_the_engine_builds_for_the_hole(engine, monkeypatch):
    denoiser = windows.tokenizer_denoiser(engine.denoiser.tokenizer,
                                          engine.denoiser.max_context)
    rng = np.random.default_rng(3)
    kinds, snippets, rows = Counter(), 0, set()
    for hole in _holes(rng) + _holes(rng):
        window = windows.window_for(denoiser, hole, rng, ladder=0.5)
        if window is None:  # the truth is longer than the canvas
            continue
        kinds[hole.kind] += 1
        snippets += window.has_snippet
        rows.add(window.row)
        assert window.ids == _server_canvas(engine, hole, monkeypatch, window.row), hole
        text = engine.denoiser.decode([t for t in window.target if t != PAD_ID])
        assert text.strip() == hole.truth.strip()
        assert hole.document[: hole.cursor].rstrip() + text == (
            hole.document[: hole.cursor] + hole.truth)
    assert kinds["line"] >= 3 and kinds["block"] >= 1 and snippets >= 1
    assert 0 in rows and len(rows) >= 3  # the first row and shorter rows of the ladder


DESCRIBED = '''import os


def read_config(path):
    """Read the file at path and parse it."""
    with open(path) as handle:
        text = handle.read()
    return parse(text)


def parse(text):
    """Split each line at its first equals sign."""
    values = {}
    # one key and value per line
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def keys(values):
    """The sorted keys."""
    return sorted(values)


# the default store lives next to this file
ROOT = os.path.dirname(__file__)
'''


def _code_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def test_a_described_window_is_the_canvas_of_its_code_action(engine, monkeypatch):
    """Holes after a comment or a docstring are laid out as ``Generate from comment`` and
    ``Fill in body`` lay them out: the action's plan, its specification, a block hole, any
    ``maxLength``; putting the truth back gives the file's code."""
    denoiser = windows.tokenizer_denoiser(engine.denoiser.tokenizer,
                                          engine.denoiser.max_context)
    rng = np.random.default_rng(5)
    specs, lengths = Counter(), set()
    for _ in range(40):
        hole = windows.described_hole(DESCRIBED, rng)
        if hole is None:
            continue
        assert hole.hole == "block" and hole.specification
        restored = hole.document[: hole.cursor] + hole.truth + hole.document[hole.cursor :]
        assert _code_lines(restored) == _code_lines(DESCRIBED), hole
        length = int(rng.integers(8, 65))
        window = windows.window_for(denoiser, hole, rng, ladder=0.5, max_length=length)
        if window is None:  # the truth is longer than the canvas
            continue
        specs[hole.specification] += 1
        lengths.add(len(window.slots))
        assert window.kind == "described"
        assert window.ids == _server_canvas(engine, hole, monkeypatch, window.row, length)
        assert hole.specification in denoiser.decode(window.left)
    assert "one key and value per line" in specs and "The sorted keys." in specs, specs
    assert len(lengths) >= 3


def test_short_canvases_are_drawn_at_their_share(engine):
    denoiser = windows.tokenizer_denoiser(engine.denoiser.tokenizer, 512)
    rng = np.random.default_rng(9)
    found = [windows.context_window(denoiser, SOURCE, "block", rng, ladder=0) for _ in range(200)]
    sizes = [len(w.slots) for w in found if w is not None]
    short = sum(size < windows.DEFAULT_MAX_LENGTH for size in sizes) / len(sizes)
    assert 0.1 < short < 0.5 and min(sizes) >= windows.SHORT_CANVAS[0], (short, sizes)
    none = [windows.context_window(denoiser, SOURCE, "block", rng, ladder=0, short_canvas=0)
            for _ in range(40)]
    assert all(len(w.slots) == windows.DEFAULT_MAX_LENGTH for w in none if w is not None)


def test_a_draft_window_shows_part_of_a_retrieved_draft_and_targets_the_truth(engine):
    denoiser = windows.tokenizer_denoiser(engine.denoiser.tokenizer, 256)
    rng = np.random.default_rng(0)
    found = [windows.context_window(denoiser, SOURCE, "draft", rng) for _ in range(10)]
    found = [w for w in found if w is not None]
    assert found
    for window in found:
        shown = [t for t in window.slots if t not in (MASK_ID, PAD_ID)]
        assert shown and MASK_ID in window.slots
        loss = window.loss_mask()[len(window.left) : len(window.left) + len(window.slots)]
        assert loss == [t != PAD_ID for t in window.slots]  # all but pre-filled [PAD]


def _maker(engine, shares=None):
    files = [SOURCE, SOURCE.replace("values", "entries"), SOURCE.replace("handle", "stream"),
             DESCRIBED]
    tokens = np.random.default_rng(0).integers(4, 4000, 20_000).astype(np.uint16)
    return MixtureBatches(files, tokens, engine.denoiser.tokenizer, 256, 16, shares)


def test_the_mixture_keeps_its_shares(engine):
    rng = np.random.default_rng(1)
    drawn = Counter(windows.pick_kind(rng) for _ in range(20_000))
    expected = {**windows.HOLE_SHARES, "plain": 1 - sum(windows.HOLE_SHARES.values())}
    for kind, share in expected.items():
        assert abs(drawn[kind] / 20_000 - share) < 0.015, (kind, drawn)
    maker = _maker(engine)
    for _ in range(4):
        maker.batch(rng)
    assert sum(maker.counts.values()) == 64 and set(maker.counts) <= set(expected)


def test_each_row_of_a_batch_is_the_kind_it_was_drawn_as(engine):
    rng = np.random.default_rng(5)
    plain = _maker(engine, shares={}).batch(rng)  # no hole kinds: all plain rows
    assert plain.attention.all() and not (plain.masked & ~plain.attention).any()
    drafts = _maker(engine, shares={"draft": 1.0}).batch(rng)
    for row in range(drafts.input_ids.shape[0]):
        hole = drafts.masked[row]
        shown = drafts.input_ids[row][hole]
        assert (shown != MASK_ID).any() and (shown == MASK_ID).any()


def test_the_loss_is_computed_at_the_hole_and_not_at_the_preamble(engine):
    maker = _maker(engine, shares={"line": 1.0})
    batch = maker.batch(np.random.default_rng(2))
    denoiser = engine.denoiser
    for row in range(batch.input_ids.shape[0]):
        where = batch.masked[row].nonzero().squeeze(-1)
        first, last = int(where.min()), int(where.max())
        assert int(where.numel()) == last - first + 1  # one contiguous hole
        assert (batch.input_ids[row, first : last + 1] == MASK_ID).all()
        assert last - first + 1 <= 64  # at most a block canvas
        assert MASK_ID not in batch.input_ids[row, :first].tolist()
        assert MASK_ID not in batch.input_ids[row, last + 1 :].tolist()
    assert any("# this file:" in denoiser.decode(batch.input_ids[r].tolist())
               for r in range(batch.input_ids.shape[0]))
    model = build_model(4096, "tiny", max_positions=512)
    loss, _ = diffusion_loss(model, batch)
    model.zero_grad()
    loss.backward()
    grads = model.model.embeddings.tok_embeddings.weight.grad
    assert grads is not None and torch.isfinite(loss)
    # Changing a preamble token's target changes nothing: it is not a loss position.
    changed = replace(batch, targets=batch.targets.clone())
    changed.targets[~batch.masked] = 5
    assert torch.isclose(diffusion_loss(model, changed)[0], loss)


def test_copy_share_draws_line_holes_the_window_can_copy(engine):
    denoiser = windows.tokenizer_denoiser(engine.denoiser.tokenizer, 512)

    def windows_of(share: float) -> list[windows.Window]:
        rng = np.random.default_rng(7)
        found = [windows.context_window(denoiser, SOURCE, "line", rng, ladder=0,
                                        copy_share=share) for _ in range(60)]
        return [w for w in found if w is not None]

    plain, copying = windows_of(0.0), windows_of(1.0)
    for window in copying:
        truth = denoiser.decode([t for t in window.target if t != PAD_ID]).strip()
        left = denoiser.decode(window.left)
        assert window.copyable == (len(truth) >= windows.MIN_COPY_CHARS and truth in left)
    share_plain = sum(w.copyable for w in plain) / len(plain)
    share_copying = sum(w.copyable for w in copying) / len(copying)
    assert share_copying >= 0.75 and share_copying > share_plain + 0.3, (share_plain,
                                                                      share_copying)


def test_copy_share_zero_draws_the_same_windows_as_before(engine):
    """Runs that do not ask for copy windows keep their random stream (a resumed run's data
    does not change under it)."""
    denoiser = windows.tokenizer_denoiser(engine.denoiser.tokenizer, 512)
    first, second = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(10):
        a = windows.context_window(denoiser, SOURCE, "line", first)
        b = windows.context_window(denoiser, SOURCE, "line", second, copy_share=0.0)
        assert (a is None and b is None) or a.ids == b.ids


def test_shares_override_the_kinds_they_name_and_plain_takes_the_rest():
    shares = windows.parse_shares("rest_of_line=0.24, line=0.30")
    assert shares == {**windows.HOLE_SHARES, "rest_of_line": 0.24, "line": 0.30}
    assert windows.parse_shares("") == windows.HOLE_SHARES
    rng = np.random.default_rng(3)
    drawn = Counter(windows.pick_kind(rng, shares) for _ in range(20_000))
    assert abs(drawn["rest_of_line"] / 20_000 - 0.24) < 0.015
    assert abs(drawn["plain"] / 20_000 - (1 - sum(shares.values()))) < 0.015


@pytest.mark.parametrize(("text", "message"), [
    ("lines=0.3", "unknown window kind 'lines'"),
    ("line=", "needs a number after '='"),
    ("line=-0.1", "must be in [0, 1]"),
    ("line=0.9", "add up to 1.330, more than 1"),
])
def test_shares_that_make_no_mixture_are_refused(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        windows.parse_shares(text)


@pytest.mark.parametrize(("argv", "message"), [
    (["--copy-share", "1.5", "--windows", "context"], "--copy-share must be in [0, 1]"),
    (["--copy-share", "0.5"], "give --windows context too"),
    (["--shares", "line=0.5"], "--shares sets the context mixture"),
    (["--shares", "line=2", "--windows", "context"], "--shares: the share of line must be"),
])
def test_train_refuses_mixture_settings_it_cannot_use(tmp_path, capsys, argv, message):
    from code_diffusion.cli import main

    assert main(["train", "--run-dir", str(tmp_path / "run"), *argv]) == 2
    assert message in capsys.readouterr().out
    assert not (tmp_path / "run").exists()  # refused before any corpus is built


def test_the_real_token_loss_leaves_out_the_unused_slots_but_keeps_them_masked(engine):
    from code_diffusion.training.train import batch_ce, real_tokens_only

    batch = _maker(engine, shares={"line": 1.0}).batch(np.random.default_rng(4))
    real = real_tokens_only(batch)
    assert torch.equal(real.input_ids, batch.input_ids)
    assert torch.equal(real.masked, batch.masked & (batch.targets != PAD_ID))
    assert 0 < int(real.masked.sum()) < int(batch.masked.sum())
    assert (batch.targets[batch.masked & ~real.masked] == PAD_ID).all()
    model = build_model(4096, "tiny", max_positions=512)
    assert batch_ce(model, [real]) != batch_ce(model, [batch])


def test_a_kind_no_document_has_is_named_not_looped_on(engine, monkeypatch):
    from code_diffusion.training import mixture

    monkeypatch.setattr(mixture, "WINDOW_TRIES", 20)
    tokens = np.random.default_rng(0).integers(4, 4000, 20_000).astype(np.uint16)
    maker = MixtureBatches([SOURCE], tokens, engine.denoiser.tokenizer, 256, 4,
                           {"described": 1.0})
    with pytest.raises(ValueError, match="no 'described' window fits in 20 random documents"):
        maker.batch(np.random.default_rng(0))
