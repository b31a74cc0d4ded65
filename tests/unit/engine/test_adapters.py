"""Adapter behaviour that is specific to one kind of target."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import tiny_models as tm
from code_diffusion.engine import UnsupportedParameterError
from code_diffusion.engine.adapt import as_code_generation_model
from code_diffusion.engine.adapters.families import dream_denoiser, llada_denoiser
from code_diffusion.engine.adapters.masked_lm import masked_lm_denoiser
from code_diffusion.engine.options import SamplerOptions


def test_seed_style_object_gets_every_parameter_under_its_own_name():
    target = tm.SeedStyleDiffusion()
    model = as_code_generation_model(target)
    model.generate("sum", "python", "def s(xs):\n    ", num_samples=3, batch_size=2,
                   guidance_scale=2.0, temperature=0.5, max_length=32)
    call = target.calls[-1]
    assert (call["num_samples"], call["batch_size"], call["guidance_scale"]) == (3, 2, 2.0)
    assert call["partial_code"] == "def s(xs):\n    " and call["max_length"] == 32


def test_renamed_object_is_mapped_and_refuses_what_it_cannot_do():
    target = tm.RenamedGenerator()
    model = as_code_generation_model(target)
    out = model.generate("sum", "python", "x = ", num_samples=2, max_length=9, seed=3)
    call = target.calls[-1]
    assert (call["num_return_sequences"], call["max_new_tokens"], call["seed"]) == (2, 9, 3)
    assert (call["prompt"], call["lang"], call["context"]) == ("sum", "python", "x = ")
    assert [c.text for c in out] == ["pass  # sum 0", "pass  # sum 1"]
    with pytest.raises(UnsupportedParameterError) as info:
        model.generate("sum", "python", None, guidance_scale=2.0)
    message = str(info.value)
    assert "RenamedGenerator" in message and "'guidance_scale'" in message
    assert "num_samples" in message  # it says what is supported
    model.generate("sum", "python", None, guidance_scale=1.0)  # at its default: fine


def test_an_object_with_no_known_shape_is_refused_with_the_reason():
    with pytest.raises(TypeError, match="cannot be used as a code generation model"):
        as_code_generation_model(object())


def test_a_tensor_model_needs_its_tokenizer():
    with pytest.raises(UnsupportedParameterError, match="tokenizer"):
        as_code_generation_model(tm.tiny_bert())


def test_shifted_and_same_position_models_commit_the_same_tokens():
    """A shifted-logit model is a same-position model read one slot later: fed the same
    network, the Dream adapter (which un-shifts) and the masked-LM adapter must agree."""
    tok, inner = tm.tokenizer(), tm.tiny_bert(seed=1)
    same = masked_lm_denoiser(inner, tok)
    shifted = dream_denoiser(tm.TinyDreamModel(inner, tok.mask_token_id), tok)
    code = ("def mean(xs):\n    total = ", "\n    return total / len(xs)\n")
    for policy in ("quota", "threshold"):
        runs = []
        for denoiser in (same, shifted):
            model = as_code_generation_model(denoiser)
            out = model.generate("", "python", code, num_samples=1, max_length=10, steps=10,
                                 sampler=SamplerOptions(policy=policy, kind="block"))
            runs.append((out[0].text, out[0].confidence))
        assert runs[0][0] == runs[1][0]
        assert runs[0][1] == pytest.approx(runs[1][1], rel=1e-5)


def test_dream_native_path_agrees_with_the_engine_sampler():
    tok, inner = tm.tokenizer(), tm.tiny_bert(seed=2)
    dream = tm.TinyDreamModel(inner, tok.mask_token_id)
    denoiser = dream_denoiser(dream, tok)
    denoiser.ids.bos = denoiser.ids.eos = denoiser.ids.pad = None  # the native path has none
    prompt = "def area(r):\n    return "
    prompt_ids = torch.tensor([denoiser.encode(prompt)])
    for steps in (1, 6):
        native = denoiser.native_generate(prompt_ids, max_new_tokens=6, steps=steps,
                                          temperature=0.0, alg="maskgit_plus")
        model = as_code_generation_model(denoiser)
        ours = model.generate("", None, prompt, num_samples=1, max_length=6, steps=steps,
                              sampler=SamplerOptions(policy="quota", kind="block"))
        assert ours[0].text == denoiser.decode(native[0, prompt_ids.shape[1]:].tolist())


def test_llada_reference_generate_agrees_with_the_engine_sampler():
    tok, inner = tm.tokenizer(), tm.tiny_bert(seed=3)
    model_obj = tm.TinyLLaDAModel(inner, tok.mask_token_id)
    denoiser = llada_denoiser(model_obj, tok, native_generate=lambda m, p, mask_id, **o:
                              tm.llada_reference_generate(m, p, mask_id=mask_id, **o))
    denoiser.ids.bos = denoiser.ids.eos = denoiser.ids.pad = None
    prompt = "for item in items:\n    "
    prompt_ids = torch.tensor([denoiser.encode(prompt)])
    model = as_code_generation_model(denoiser)
    for steps, length in ((4, 8), (8, 8), (3, 7)):
        native = denoiser.native_generate(prompt_ids, steps=steps, gen_length=length)
        ours = model.generate("", None, prompt, num_samples=1, max_length=length,
                              steps=steps, sampler=SamplerOptions(policy="quota",
                                                                  kind="block"))
        assert ours[0].text == denoiser.decode(native[0, prompt_ids.shape[1]:].tolist())


def test_the_engine_imports_no_lsp_library():
    code = ("import sys, code_diffusion.engine.generator, code_diffusion.engine.loading; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
