"""The engine's own ModernBERT module against transformers' ``ModernBertForMaskedLM``.

On the embedded weights (their ModernBERT backbone: transformers has no copy head) and on small
random configs with sliding-window layers narrower than
the sequence: the same logits (float32, 1e-5), logits at masked positions equal to the full
logits there, and the block cache equal to transformers wherever it is exact by construction.
"""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, ModernBertConfig
from transformers import ModernBertForMaskedLM as Reference

from code_diffusion.engine.adapt import wrap_loaded
from code_diffusion.engine.adapters.masked_lm import BlockCache
from code_diffusion.engine.adapters.modernbert import (
    ModernBertConfig as OwnConfig,
)
from code_diffusion.engine.adapters.modernbert import (
    load_weights,
)
from code_diffusion.engine.adapters.registry import EMBEDDED
from code_diffusion.engine.errors import ModelLoadError
from code_diffusion.engine.loading import EMBEDDED_DIR, load_model
from code_diffusion.engine.options import SamplerOptions
from tiny_models import embedded_backbone

TOLERANCE = 1e-5
CODE = "def add(a, b):\n    total = a + b\n    return total\n\n\nprint(add(1, 2))\n"


def _random_ids(vocab: int, rows: int, length: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(4, vocab, (rows, length), generator=torch.Generator().manual_seed(seed))


def _small(tmp_path, layer_types: list[str], seed: int = 0, **extra):
    """A random transformers ModernBERT saved to ``tmp_path``, and it loaded by our module."""
    torch.manual_seed(seed)
    config = ModernBertConfig(vocab_size=97, hidden_size=32, intermediate_size=48,
                              num_hidden_layers=len(layer_types), num_attention_heads=4,
                              layer_types=layer_types, local_attention=8,
                              max_position_embeddings=128, pad_token_id=0,
                              global_rope_theta=1000.0, local_rope_theta=50.0, **extra)
    reference = Reference(config).eval()
    with torch.no_grad():  # random norms and biases, so that every parameter matters
        for name, parameter in reference.named_parameters():
            if "norm" in name or name.endswith("bias"):
                parameter.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
    reference.save_pretrained(str(tmp_path))
    return reference, load_weights(tmp_path, torch.float32)


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    """The shipped weights without the copy head, as transformers can load them."""
    return embedded_backbone(tmp_path_factory.mktemp("backbone"))


@pytest.fixture(scope="module")
def embedded_pair(backbone):
    reference = AutoModelForMaskedLM.from_pretrained(str(backbone), dtype=torch.float32).eval()
    return reference, load_weights(backbone, torch.float32)


def test_embedded_weights_match_transformers(embedded_pair):
    reference, own = embedded_pair
    ids = _random_ids(4096, 2, 200)
    with torch.inference_mode():
        expected = reference(input_ids=ids).logits
        assert torch.allclose(own(ids).logits, expected, atol=TOLERANCE, rtol=0)
        assert not torch.allclose(own(ids.flip(1)).logits.flip(1), expected, atol=TOLERANCE)
        where = torch.zeros_like(ids, dtype=torch.bool)
        where[:, 150:170] = True
        assert torch.allclose(own.logits_at(ids, where), expected[where], atol=TOLERANCE, rtol=0)


def test_embedded_weights_in_bfloat16_match_transformers(backbone):
    reference = AutoModelForMaskedLM.from_pretrained(str(backbone), dtype=torch.bfloat16).eval()
    own = load_weights(backbone, torch.bfloat16)
    ids = _random_ids(4096, 2, 200)
    with torch.inference_mode():
        expected = reference(input_ids=ids).logits.float()
        logits = own(ids).logits.float()
    assert own.decoder.weight.dtype is torch.bfloat16
    assert torch.allclose(logits, expected, atol=1e-2, rtol=0)
    assert torch.equal(logits.argmax(-1), expected.argmax(-1))


@pytest.mark.parametrize("biases", [False, True])
def test_sliding_window_layers_match_transformers(tmp_path, biases):
    layer_types = ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]
    options = dict(norm_bias=True, attention_bias=True, mlp_bias=True,
                   classifier_bias=True) if biases else {}
    reference, own = _small(tmp_path, layer_types, **options)
    assert [layer.sliding for layer in own.model.layers] == [False, True, True, False]
    for length in (5, 9, 40):  # inside the window, at its edge, far wider than it
        ids = _random_ids(97, 3, length, seed=length)
        with torch.inference_mode():
            expected = reference(input_ids=ids).logits
            assert torch.allclose(own(ids).logits, expected, atol=TOLERANCE, rtol=0), length


def test_a_wrong_window_would_be_seen(tmp_path):
    """The comparison can fail: a model read with another window gives other logits."""
    reference, own = _small(tmp_path, ["sliding_attention", "sliding_attention"])
    ids = _random_ids(97, 1, 40)
    with torch.inference_mode():
        expected = reference(input_ids=ids).logits
        assert torch.allclose(own(ids).logits, expected, atol=TOLERANCE, rtol=0)
        own.config = OwnConfig(**{**own.config.__dict__, "local_attention": 16})
        own._tables.clear()
        assert (own(ids).logits - expected).abs().max() > 10 * TOLERANCE


def test_block_pass_is_exact_while_the_context_is_unchanged(tmp_path):
    reference, own = _small(tmp_path, ["full_attention", "sliding_attention"])
    ids = _random_ids(97, 2, 48)
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[:, 20:30] = True
    cache = BlockCache(18, 32)
    with torch.inference_mode():
        expected = reference(input_ids=ids).logits[where]
        full = _denoiser(own).cached_logits_at(ids, where, cache)
        block = _denoiser(own).cached_logits_at(ids, where, cache)
    assert cache.full_passes == 1 and cache.passes == 2
    assert torch.allclose(full, expected, atol=TOLERANCE, rtol=0)
    assert torch.allclose(block, expected, atol=TOLERANCE, rtol=0)


def test_one_layer_block_pass_equals_a_full_pass_after_the_hole_changes(tmp_path):
    """With one layer the context's keys and values depend on the context's tokens only, so
    the block pass after a change inside the hole is exactly transformers' full pass."""
    reference, own = _small(tmp_path, ["sliding_attention"])
    ids = _random_ids(97, 2, 48)
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[:, 20:30] = True
    cache = BlockCache(18, 32)
    denoiser = _denoiser(own)
    with torch.inference_mode():
        denoiser.cached_logits_at(ids, where, cache)
        changed = ids.clone()
        changed[:, 22:26] = 5
        block = denoiser.cached_logits_at(changed, where, cache)
        expected = reference(input_ids=changed).logits[where]
    assert cache.full_passes == 1
    assert torch.allclose(block, expected, atol=TOLERANCE, rtol=0)


def _padded(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of different lengths right-padded with id 0, and their attention mask."""
    width = max(row.shape[1] for row in rows)
    ids = torch.cat([torch.nn.functional.pad(row, (0, width - row.shape[1])) for row in rows])
    mask = torch.tensor([[1] * row.shape[1] + [0] * (width - row.shape[1])
                         for row in rows for _ in range(row.shape[0])])
    return ids, mask


def test_right_padded_rows_give_each_row_alone(tmp_path):
    """Padding columns are masked out in every layer, full and sliding, even where a padding
    column's whole window is padding (that query attends to itself, not to nothing)."""
    _, own = _small(tmp_path, ["full_attention", "sliding_attention", "full_attention"])
    rows = [_random_ids(97, 1, length, seed=length) for length in (40, 13, 27)]
    ids, mask = _padded(rows)
    with torch.inference_mode():
        padded = own(ids, attention_mask=mask).logits
        unmasked = own(ids).logits
        assert not padded.isnan().any()
        for index, row in enumerate(rows):
            alone = own(row).logits[0]
            length = row.shape[1]
            assert torch.allclose(padded[index, :length], alone, atol=TOLERANCE, rtol=0)
            if length < ids.shape[1]:  # the test can fail: without the mask padding leaks in
                assert not torch.allclose(unmasked[index, :length], alone, atol=TOLERANCE)


def test_padded_block_cache_is_exact_while_the_context_is_unchanged(tmp_path):
    _, own = _small(tmp_path, ["full_attention", "sliding_attention"])
    rows = [_random_ids(97, 1, length, seed=length) for length in (48, 30)]
    ids, mask = _padded(rows)
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[:, 20:28] = True
    cache, denoiser = BlockCache(18, 30), _denoiser(own)
    assert denoiser.supports_padding and denoiser.supports_padded_block_cache
    with torch.inference_mode():
        expected = denoiser.padded_logits_at(ids, mask, where)
        full = denoiser.cached_logits_at(ids, where, cache, attention_mask=mask)
        block = denoiser.cached_logits_at(ids, where, cache, attention_mask=mask)
        alone = torch.cat([own.logits_at(row, where[i : i + 1, : row.shape[1]])
                           for i, row in enumerate(rows)])
    assert cache.full_passes == 1 and cache.passes == 2
    for logits in (full, block, alone):
        assert torch.allclose(logits, expected, atol=TOLERANCE, rtol=0)


def test_embedded_model_padded_rows_match_each_row_alone(embedded_pair):
    """A masked pass takes another attention kernel than an unmasked one: the same logits to
    float rounding (1e-4 on logits of magnitude ~10), and the same greedy tokens."""
    _, own = embedded_pair
    rows = [_random_ids(4096, 2, length, seed=length) for length in (90, 35)]
    ids, mask = _padded(rows)
    with torch.inference_mode():
        padded = own(ids, attention_mask=mask).logits
        for index, row in enumerate(rows):
            length = row.shape[1]
            alone = own(row).logits
            mine = padded[2 * index : 2 * index + 2, :length]
            assert torch.allclose(mine, alone, atol=10 * TOLERANCE, rtol=0)
            assert torch.equal(mine.argmax(-1), alone.argmax(-1))
        # shifted right by 20 padding columns: rotary positions are relative
        row = rows[1]
        shifted = torch.nn.functional.pad(row, (20, 0))
        mask = torch.tensor([[0] * 20 + [1] * row.shape[1]] * 2)
        logits = own(shifted, attention_mask=mask).logits[:, 20:]
        alone = own(row).logits
        assert torch.allclose(logits, alone, atol=10 * TOLERANCE, rtol=0)
        assert torch.equal(logits.argmax(-1), alone.argmax(-1))


def _denoiser(model):
    from code_diffusion.engine.adapters.base import SpecialIds
    from code_diffusion.engine.adapters.modernbert import ModernBertDenoiser

    return ModernBertDenoiser(model=model, tokenizer=None, ids=SpecialIds(mask=1),
                              family="embedded", name="small")


@pytest.mark.parametrize("cache", ["none", "block"])
def test_embedded_model_fills_as_through_transformers(backbone, cache):
    """The whole sampler over our module gives the candidates it gives over transformers'."""
    own = load_model(str(backbone))
    assert type(own.denoiser).__name__ == "ModernBertDenoiser"
    reference = AutoModelForMaskedLM.from_pretrained(str(backbone), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(backbone))
    metadata = json.loads((backbone / "code_diffusion.json").read_text())
    through = wrap_loaded(reference, tokenizer, family=EMBEDDED, path=backbone,
                          metadata=metadata)
    assert own.info.to_json() == through.info.to_json()
    options = SamplerOptions(cache=cache)
    for cut in (12, 30, 47, 70):
        params = dict(num_samples=3, steps=8, max_length=16, temperature=0.7, seed=cut)
        ours = own.generate("", "python", (CODE[:cut], CODE[cut:]), sampler=options, **params)
        theirs = through.generate("", "python", (CODE[:cut], CODE[cut:]), sampler=options,
                                  **params)
        assert [c.text for c in ours] == [c.text for c in theirs]


def test_tokenizer_gives_transformers_ids():
    own = load_model().denoiser
    reference = AutoTokenizer.from_pretrained(str(EMBEDDED_DIR))
    texts = [CODE, "", "  x = [MASK] é 😀\t\r\n", "[PAD][BOS]foo[EOS]",
             (EMBEDDED_DIR.parents[1] / "engine" / "diffusion.py").read_text("utf-8")[:4000]]
    for text in texts:
        ids = reference.encode(text, add_special_tokens=False)
        assert own.encode(text) == ids
        assert own.decode(ids) == reference.decode(ids, skip_special_tokens=False,
                                                   clean_up_tokenization_spaces=False)
    assert len(own.tokenizer) == len(reference)


def test_unsupported_config_is_refused():
    config = json.loads((EMBEDDED_DIR / "config.json").read_text())
    config["rope_parameters"]["full_attention"]["rope_type"] = "yarn"
    with pytest.raises(ModelLoadError, match="rope_type 'yarn'"):
        OwnConfig.from_json(config)


def test_weights_of_another_shape_are_refused(tmp_path):
    _small(tmp_path, ["full_attention"])
    config = json.loads((tmp_path / "config.json").read_text())
    config["num_hidden_layers"], config["layer_types"] = 2, ["full_attention"] * 2
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="missing"):
        load_weights(tmp_path, torch.float32)
