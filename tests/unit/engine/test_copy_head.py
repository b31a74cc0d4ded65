"""The copy head of the engine's ModernBERT module (``engine/adapters/copy_head.py``).

Without the config key the module is the plain masked LM (no extra parameters, the same
logits); with it every logits path returns the log of a distribution that sums to 1, whose copy
part puts its mass on the window's visible tokens only, on padded rows and through the block
cache as on single rows.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from code_diffusion.engine.adapters.base import SpecialIds
from code_diffusion.engine.adapters.copy_head import CopyHeadConfig, refuse_in_transformers
from code_diffusion.engine.adapters.masked_lm import BlockCache
from code_diffusion.engine.adapters.modernbert import (
    ModernBertConfig,
    ModernBertDenoiser,
    ModernBertMaskedLM,
)
from code_diffusion.engine.errors import ModelLoadError
from code_diffusion.engine.loading import EMBEDDED_DIR

MASK, PAD, VOCAB = 1, 0, 97


def _model(copy: bool, seed: int = 0) -> ModernBertMaskedLM:
    torch.manual_seed(seed)
    config = ModernBertConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48,
                              num_attention_heads=4, layer_types=("full_attention",) * 2,
                              copy_head=CopyHeadConfig(8, MASK, PAD) if copy else None)
    model = ModernBertMaskedLM(config)
    if copy:
        model.copy_head.reset_parameters(std=0.3)
        torch.nn.init.normal_(model.copy_head.gate.weight, std=0.3)
        torch.nn.init.constant_(model.copy_head.gate.bias, 0.0)  # g ≈ 1/2: both parts matter
    return model.eval()


def _ids(rows: int, length: int, seed: int = 1) -> torch.Tensor:
    ids = torch.randint(4, 30, (rows, length), generator=torch.Generator().manual_seed(seed))
    ids[:, length // 2 : length // 2 + 5] = MASK
    return ids


def test_without_the_key_there_is_no_head_and_the_logits_are_the_plain_projection():
    model = _model(copy=False)
    assert model.copy_head is None
    assert not any(k.startswith("copy_head") for k in model.state_dict())
    ids = _ids(2, 40)
    where = ids == MASK
    with torch.inference_mode():
        hidden = model.encode(ids)[0]
        assert torch.equal(model.logits_at(ids, where), model.project(hidden[where]))
        assert torch.equal(model(ids).logits, model.project(hidden))
    config = json.loads((EMBEDDED_DIR / "config.json").read_text())
    assert ModernBertConfig.from_json(config).copy_head is not None  # the shipped model's
    del config["copy_head"]
    assert ModernBertConfig.from_json(config).copy_head is None


def test_a_shut_gate_gives_the_plain_model_distribution():
    plain, copy = _model(copy=False), _model(copy=True)
    copy.load_state_dict({**plain.state_dict(), **{
        k: v for k, v in copy.state_dict().items() if k.startswith("copy_head.")}})
    torch.nn.init.constant_(copy.copy_head.gate.bias, -1e4)
    ids = _ids(2, 40)
    where = ids == MASK
    with torch.inference_mode():
        expected = torch.log_softmax(plain.logits_at(ids, where).float(), -1)
        assert torch.allclose(copy.logits_at(ids, where), expected, atol=1e-5)


def test_mixed_logits_are_log_probabilities_of_the_right_shapes():
    model = _model(copy=True)
    ids = _ids(3, 40)
    where = ids == MASK
    with torch.inference_mode():
        at = model.logits_at(ids, where)
        full = model(ids).logits
        plain = torch.log_softmax(model.project(model.encode(ids)[0][where]).float(), -1)
    assert at.shape == (int(where.sum()), VOCAB) and full.shape == (3, 40, VOCAB)
    assert torch.allclose(at.exp().sum(-1), torch.ones(at.shape[0]), atol=1e-5)
    assert torch.allclose(full.exp().sum(-1), torch.ones(3, 40), atol=1e-5)
    assert torch.allclose(full[where], at, atol=1e-5)
    # the copy part changes the distribution: not the plain projection's softmax
    assert not torch.allclose(at, plain, atol=1e-2)


def test_the_copy_distribution_counts_the_visible_tokens_only():
    """Query zero (uniform attention) and the gate wide open: p is the share of each token
    among the visible columns, [MASK], [PAD], padding and the position itself left out."""
    model = _model(copy=True)
    head = model.copy_head
    torch.nn.init.zeros_(head.query.weight)
    torch.nn.init.zeros_(head.gate.weight)
    torch.nn.init.constant_(head.gate.bias, 40.0)
    ids = torch.tensor([[5, 7, 7, MASK, PAD, 9, 11, 12]])
    attention = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 0]])  # column 7 is padding
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[0, 3] = where[0, 5] = True  # the hole, and a visible token judged in place
    with torch.inference_mode():
        p = model.logits_at(ids, where, attention_mask=attention).exp()
    hole, judged = p
    assert hole[7] == pytest.approx(2 / 5, abs=1e-6)
    for token in (5, 9, 11):
        assert hole[token] == pytest.approx(1 / 5, abs=1e-6)
    assert hole[12] < 1e-6 and hole[MASK] < 1e-6 and hole[PAD] < 1e-6
    assert judged[9] < 1e-6  # not copied from itself
    assert judged[7] == pytest.approx(2 / 4, abs=1e-6)


def test_a_window_with_nothing_visible_falls_back_to_the_vocabulary():
    model = _model(copy=True)
    torch.nn.init.constant_(model.copy_head.gate.bias, 40.0)
    ids = torch.full((1, 6), MASK)
    where = ids == MASK
    with torch.inference_mode():
        logits = model.logits_at(ids, where)
        plain = torch.log_softmax(model.project(model.encode(ids)[0][where]).float(), -1)
    assert torch.isfinite(logits).all() and torch.allclose(logits, plain, atol=1e-5)


def _denoiser(model) -> ModernBertDenoiser:
    return ModernBertDenoiser(model=model, tokenizer=None, ids=SpecialIds(mask=MASK, pad=PAD),
                              family="embedded", name="small")


def test_padded_rows_give_each_row_alone():
    denoiser = _denoiser(_model(copy=True))
    rows = [_ids(1, 30, seed=2), _ids(1, 44, seed=3)]
    length = max(r.shape[1] for r in rows)
    ids = torch.stack([torch.nn.functional.pad(r[0], (0, length - r.shape[1])) for r in rows])
    mask = torch.stack([torch.arange(length) < r.shape[1] for r in rows]).long()
    where = (ids == MASK) & mask.bool()
    with torch.inference_mode():
        padded = denoiser.padded_logits_at(ids, mask, where)
        alone = torch.cat([denoiser.logits_at(r, r == MASK) for r in rows])
    assert torch.allclose(padded, alone, atol=1e-4)


def test_block_cache_is_exact_while_the_context_is_unchanged_and_updates_the_hole():
    denoiser = _denoiser(_model(copy=True))
    ids = _ids(2, 40)
    where = ids == MASK
    cache = BlockCache(start=20, end=25)
    with torch.inference_mode():
        first = denoiser.cached_logits_at(ids, where, cache)
        again = denoiser.cached_logits_at(ids, where, cache)
        assert cache.full_passes == 1 and cache.passes == 2
        assert torch.allclose(first, denoiser.logits_at(ids, where), atol=1e-5)
        assert torch.allclose(again, first, atol=1e-4)
        # a token committed in the hole becomes copyable: its probability rises at once
        changed = ids.clone()
        changed[:, 20] = 29
        rest = changed == MASK
        before = denoiser.cached_logits_at(ids, rest, BlockCache(start=20, end=25))
        after = denoiser.cached_logits_at(changed, rest, cache)
    assert torch.allclose(after.exp().sum(-1), torch.ones(after.shape[0]), atol=1e-5)
    assert (after[:, 29] > before[:, 29]).all()


def test_transformers_loading_refuses_a_copy_head():
    config = json.loads((EMBEDDED_DIR / "config.json").read_text())
    del config["copy_head"]
    refuse_in_transformers(config, "plain")  # no head: nothing to refuse
    config["copy_head"] = {"key_dim": 64, "mask_token_id": 1}
    with pytest.raises(ModelLoadError, match=r"copy head.*does not implement"):
        refuse_in_transformers(config, "model")
    config["copy_head"] = {"key_dim": 0}
    with pytest.raises(ModelLoadError, match="positive integer 'key_dim'"):
        ModernBertConfig.from_json(config)


def test_the_gate_starts_nearly_shut():
    head = _model(copy=True).copy_head
    head.reset_parameters()
    assert torch.sigmoid(head.gate.bias).item() < 0.02
    assert math.isclose(head.gate.weight.abs().sum().item(), 0.0)
