"""One contract every adapter target passes, whatever the object behind it."""

from __future__ import annotations

import pytest

import tiny_models as tm
from code_diffusion.engine import (
    Candidate,
    CodeGenerationModel,
    InvalidRequestError,
    SampleStep,
    UnsupportedParameterError,
)
from code_diffusion.engine.adapt import as_code_generation_model

FAST = dict(max_length=6)  # `steps` is not a parameter every target has


def _seed_style():
    return as_code_generation_model(tm.SeedStyleDiffusion())


def _renamed():
    return as_code_generation_model(tm.RenamedGenerator())


def _dream():
    tok = tm.tokenizer()
    return as_code_generation_model(tm.TinyDreamModel(tm.tiny_bert(), tok.mask_token_id),
                                    tokenizer=tok)


def _llada():
    tok = tm.tokenizer()
    return as_code_generation_model(tm.TinyLLaDAModel(tm.tiny_bert(), tok.mask_token_id),
                                    tokenizer=tok)


def _bert():
    return as_code_generation_model(tm.tiny_bert(), tokenizer=tm.tokenizer())


def _embedded():
    from code_diffusion.engine.loading import load_model

    return load_model()


TARGETS = {"seed-style": _seed_style, "renamed": _renamed, "dream": _dream, "llada": _llada,
           "bert": _bert, "embedded": _embedded}
TENSOR_FAMILIES = ("dream", "llada", "bert", "embedded")


@pytest.fixture(scope="module", params=sorted(TARGETS))
def target(request):
    return request.param, TARGETS[request.param]()


def test_is_a_code_generation_model(target):
    _, model = target
    assert isinstance(model, CodeGenerationModel)
    assert model.info.name and model.info.family


@pytest.mark.parametrize("num_samples", [1, 3])
def test_generate_returns_exactly_num_samples(target, num_samples):
    _, model = target
    out = model.generate("return the sum of a list", "python", "def total(xs):\n    ",
                         num_samples=num_samples, **FAST)
    assert len(out) == num_samples
    assert all(isinstance(c, Candidate) and isinstance(c.text, str) for c in out)


def test_the_historical_call_shape_works_unchanged(target):
    _, model = target
    kwargs = dict(max_length=6, num_samples=2, temperature=0.0, batch_size=4)
    out = model.generate("add two numbers", "python", "def add(a, b):\n    ", **kwargs)
    assert len(out) == 2


def test_sample_yields_steps_and_ends_with_the_candidates(target):
    _, model = target
    steps = list(model.sample("spec", "python", "x = ", num_samples=2, **FAST))
    assert all(isinstance(s, SampleStep) for s in steps)
    assert steps[-1].done and len(steps[-1].candidates) == 2
    assert not any(s.done for s in steps[:-1])


def test_invalid_parameter_names_the_field(target):
    _, model = target
    with pytest.raises(InvalidRequestError, match=r"num_samples must be ≥ 1, got 0"):
        model.generate("spec", "python", "x = ", num_samples=0)
    with pytest.raises(InvalidRequestError, match="precision must be one of"):
        model.generate("spec", "python", "x = ", precision="float8")


def test_infill_with_prefix_and_suffix(target):
    name, model = target
    code = ("def f(x):\n    y = ", "\n    return y\n")
    if name in TENSOR_FAMILIES:
        out = model.generate("", "python", code, num_samples=2, **FAST)
        assert len(out) == 2
    else:  # these targets have no suffix parameter: refused, never silently dropped
        with pytest.raises(UnsupportedParameterError, match="code after the hole"):
            model.generate("", "python", code, num_samples=1)


def test_tensor_families_stream_intermediate_states(target):
    name, model = target
    if name not in TENSOR_FAMILIES:
        pytest.skip("legacy targets produce whole results only (one step)")
    steps = list(model.sample("", "python", "def f():\n    return ", max_length=8, steps=8,
                              num_samples=1))
    assert len(steps) >= 2
    masked = [s.masked[0] for s in steps[:-1]]
    assert masked == sorted(masked, reverse=True) and masked[-1] == 0


def test_generate_code_keeps_the_seed_signature_on_the_embedded_model():
    """``CodeDiffusion.generate_code`` with its historical defaults (5 samples, one refinement
    round) on the real embedded model: texts, best first, as many as asked."""
    model = _embedded()
    texts = model.generate_code("add two numbers", "python", "def add(a, b):\n    return ",
                                max_length=8, num_samples=2, temperature=0.0)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    # The legacy entry point hands the prefix to the model as it is; a trailing space is what
    # CodeGenerator's healing takes off before the model sees it (the model was trained on
    # healed prefixes and answers a bare space with whitespace), so the content is checked on
    # the prefix the generator sends.
    texts = model.generate_code("add two numbers", "python", "def add(a, b):\n    return",
                                max_length=8, num_samples=2, temperature=0.0)
    assert any(t.strip() for t in texts)
    with pytest.raises(InvalidRequestError, match="num_samples"):
        model.generate_code("add", num_samples=0)


@pytest.mark.parametrize("name", ["seed-style", "renamed"])
def test_models_that_generate_by_themselves_refuse_sampler_options(name):
    from code_diffusion.engine.options import SamplerOptions

    model = TARGETS[name]()
    with pytest.raises(UnsupportedParameterError, match="policy"):
        model.generate("x", "python", "a = ", sampler=SamplerOptions(policy="quota"), **FAST)
    with pytest.raises(UnsupportedParameterError, match="length_control"):
        list(model.sample("x", "python", "a = ", sampler=SamplerOptions(length_control=False),
                          **FAST))
    # the hole's kind only describes the hole: every model takes it
    assert len(model.generate("x", "python", "a = ", sampler=SamplerOptions(kind="line"),
                              **FAST)) == 1
