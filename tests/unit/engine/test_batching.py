"""``num_samples`` and ``batch_size`` never fight: every combination returns num_samples."""

from __future__ import annotations

import pytest

import tiny_models as tm
from code_diffusion.engine.adapt import as_code_generation_model


@pytest.fixture(scope="module")
def model():
    return as_code_generation_model(tm.tiny_bert(), tokenizer=tm.tokenizer())


@pytest.mark.parametrize("num_samples", range(1, 7))
@pytest.mark.parametrize("batch_size", range(1, 7))
def test_every_combination_returns_exactly_num_samples(model, num_samples, batch_size):
    out = model.generate("", "python", "x = ", num_samples=num_samples,
                         batch_size=batch_size, max_length=3, steps=3)
    assert len(out) == num_samples


@pytest.mark.parametrize("guidance_scale", [1.0, 2.0])
def test_guidance_keeps_the_count(model, guidance_scale):
    out = model.generate("sum a list", "python", "x = ", num_samples=5, batch_size=2,
                         guidance_scale=guidance_scale, max_length=3, steps=3)
    assert len(out) == 5


def test_same_seed_same_samples(model):
    kwargs = dict(num_samples=3, temperature=1.0, seed=7, max_length=5, steps=5)
    first = [c.text for c in model.generate("", "python", "x = ", **kwargs)]
    again = [c.text for c in model.generate("", "python", "x = ", **kwargs)]
    assert first == again
