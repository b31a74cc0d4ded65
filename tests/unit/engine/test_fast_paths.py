"""The embedded model's lean encoder path, the block cache and the thread setting.

The lean path must give exactly transformers' logits; the block cache must give them too while
nothing outside the hole changed since its full pass; a model without the capability ignores
``cache="block"``.
"""

from __future__ import annotations

import pytest
import torch

from code_diffusion.engine import diffusion
from code_diffusion.engine.adapt import as_code_generation_model, wrap_loaded
from code_diffusion.engine.adapters.masked_lm import BlockCache
from code_diffusion.engine.adapters.registry import EMBEDDED
from code_diffusion.engine.errors import InvalidRequestError
from code_diffusion.engine.loading import load_model
from code_diffusion.engine.options import SamplerOptions
from tiny_models import embedded_backbone, tiny_bert, tokenizer

CODE = "def add(a, b):\n    total = a + b\n    return total\n\n\nprint(add(1, 2))\n"


@pytest.fixture(scope="module")
def embedded():
    return load_model()


@pytest.fixture(scope="module")
def lean(tmp_path_factory):
    """The embedded weights' backbone (transformers has no copy head) through transformers,
    which the lean path drives (the embedded model itself loads through the engine's own
    module, tested in test_modernbert.py)."""
    from transformers import AutoModelForMaskedLM

    backbone = embedded_backbone(tmp_path_factory.mktemp("backbone"))
    model = AutoModelForMaskedLM.from_pretrained(str(backbone), dtype=torch.float32).eval()
    return wrap_loaded(model, tokenizer(), family=EMBEDDED, path=backbone, metadata={})


def _ids(denoiser, rows: int = 2, length: int = 96):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(8, len(denoiser.tokenizer), (rows, length), generator=generator)
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[:, 40:56] = True
    ids[:, 44:52] = denoiser.ids.mask
    return ids, where


def test_lean_path_matches_transformers(lean):
    denoiser = lean.denoiser
    assert denoiser.supports_block_cache
    ids, where = _ids(denoiser)
    with torch.inference_mode():
        reference = denoiser.model(input_ids=ids).logits[where].float()
        assert torch.allclose(denoiser.logits_at(ids, where), reference, atol=1e-5)


@pytest.mark.parametrize("name", ["lean", "embedded"])
def test_block_pass_is_exact_while_the_context_is_unchanged(request, name):
    denoiser = request.getfixturevalue(name).denoiser
    ids, where = _ids(denoiser)
    cache = BlockCache(40, 56)
    with torch.inference_mode():
        full = denoiser.cached_logits_at(ids, where, cache)
        block = denoiser.cached_logits_at(ids, where, cache)
        assert cache.full_passes == 1 and cache.passes == 2
        assert torch.allclose(full, block, atol=1e-5)
        changed = ids.clone()
        changed[:, 44] = 7  # a token inside the hole: only the block runs, and sees it
        later = denoiser.cached_logits_at(changed, where, cache)
        assert later.shape == full.shape and not torch.allclose(later, full)


def test_refresh_runs_full_passes():
    cache = BlockCache(0, 4, refresh=2)
    assert cache.due(1)
    cache.layers = [(torch.zeros(1, 1, 4, 1), torch.zeros(1, 1, 4, 1))]
    cache.passes = 1
    assert not cache.due(1)
    cache.passes = 2
    assert cache.due(1)
    assert cache.due(3)  # another batch size needs its own full pass


@pytest.mark.parametrize("policy", ["threshold", "quota"])
def test_cached_sampler_returns_every_requested_sample(embedded, policy):
    options = SamplerOptions(cache="block", policy=policy)
    out = embedded.generate("", "python", (CODE[:30], CODE[30:]), sampler=options,
                            num_samples=3, batch_size=2, steps=8, max_length=12)
    assert len(out) == 3


def test_cache_is_ignored_without_the_capability():
    model = as_code_generation_model(tiny_bert(), tokenizer=tokenizer())
    plain = model.generate("", "python", (CODE[:30], CODE[30:]), steps=4, max_length=6)
    cached = model.generate("", "python", (CODE[:30], CODE[30:]), steps=4, max_length=6,
                            sampler=SamplerOptions(cache="block"))
    assert [c.text for c in plain] == [c.text for c in cached]


def test_unknown_cache_is_refused(embedded):
    with pytest.raises(InvalidRequestError, match="cache"):
        embedded.generate("", "python", CODE[:30], sampler=SamplerOptions(cache="kv"))


def test_thread_setting(monkeypatch, embedded):
    monkeypatch.delenv(diffusion.THREADS_VARIABLE, raising=False)
    assert diffusion.pass_threads(embedded.denoiser) == 1  # a small model on the CPU
    monkeypatch.setenv(diffusion.THREADS_VARIABLE, "2")
    assert diffusion.pass_threads(embedded.denoiser) == 2
    before = torch.get_num_threads()
    with diffusion.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
