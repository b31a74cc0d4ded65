"""The decoding options for a small model: the repetition penalty inside the hole and distinct
first commits, validated, wired into the sampler and refused by adapters that cannot honour them.

The sampler tests run over a fake denoiser that loops: every masked slot prefers `` x`` (then
`` y``, then `` z``) whatever the canvas holds, the way the embedded model writes
``x, x, x, x`` where it is unsure.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from code_diffusion.engine.adapt import as_code_generation_model
from code_diffusion.engine.adapters.base import Denoiser, SpecialIds
from code_diffusion.engine.diffusion import CodeDiffusion
from code_diffusion.engine.errors import InvalidRequestError, UnsupportedParameterError
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.engine.interface import ModelInfo
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.repetition import hole_words
from code_diffusion.engine.rewards import Hole, score
from code_diffusion.engine.types import Candidate, GenerationRequest, PartialCode

VOCAB = ["[MASK]", "[PAD]", "[BOS]", "[EOS]", " x", " y", " z", ",", "\n", "f", "(", ")", " "]
MASK, PAD, BOS, EOS, X, Y, Z = range(7)
PREFERENCE = {X: 3.0, Y: 2.5, Z: 2.0}
"""Every slot's logits, position-free: `` x`` wins every slot unless something pushes it down."""


class ToyTokenizer:
    """Longest-match encoding over :data:`VOCAB` (no special tokens in text)."""

    def __len__(self) -> int:
        return len(VOCAB)

    def encode(self, text: str, add_special_tokens: bool = False, verbose: bool = False):
        ids, at = [], 0
        pieces = sorted(range(4, len(VOCAB)), key=lambda i: -len(VOCAB[i]))
        while at < len(text):
            token = next(i for i in pieces if text.startswith(VOCAB[i], at))
            ids.append(token)
            at += len(VOCAB[token])
        return ids

    def decode(self, ids, skip_special_tokens=False, clean_up_tokenization_spaces=False):
        return "".join(VOCAB[i] for i in ids)


class LoopingDenoiser(Denoiser):
    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        logits = torch.full((int(where.sum()), len(VOCAB)), -5.0)
        for token, value in PREFERENCE.items():
            logits[:, token] = value
        return logits


def looping_model() -> CodeDiffusion:
    denoiser = LoopingDenoiser(model=torch.nn.Linear(1, 1), tokenizer=ToyTokenizer(),
                               ids=SpecialIds(mask=MASK, pad=PAD, bos=BOS, eos=EOS),
                               family="toy", name="looping")
    return CodeDiffusion(denoiser, ModelInfo(name="looping", family="toy"))


def fill_texts(model: CodeDiffusion, num_samples: int = 1, **options) -> list[str]:
    """The candidates of a 6-slot hole after ``f(``, one slot committed per step (every row
    greedy unless ``distinct_rows=True`` is given)."""
    options.setdefault("distinct_rows", False)
    request = GenerationRequest(partial_code=PartialCode("f(", ")"), steps=6,
                                num_samples=num_samples, batch_size=4)
    opts = SamplerOptions(kind="block", canvas_length=6, policy="quota", cache="none",
                          **options)
    *_, last = model.stream(request, opts)
    return [c.text for c in last.candidates]


@pytest.mark.parametrize(("field", "value"), [
    ("repetition_penalty", 0.9), ("repetition_penalty", 11), ("repetition_penalty", True),
    ("repetition_penalty", "2"), ("repetition_free", 0), ("repetition_free", 1.5),
    ("repetition_free", None), ("distinct_rows", 1), ("distinct_rows", "yes"),
])
def test_bad_decoding_options_name_the_field(field, value):
    with pytest.raises(InvalidRequestError, match=field) as caught:
        SamplerOptions(**{field: value})
    assert caught.value.field == field


def test_good_decoding_options_are_kept():
    options = SamplerOptions(repetition_penalty=1.5, repetition_free=1, distinct_rows=False)
    assert (options.repetition_penalty, options.repetition_free, options.distinct_rows) == (
        1.5, 1, False)
    # the defaults the benchmarks chose (docs/model-card.md): no penalty, distinct rows
    assert (SamplerOptions().repetition_penalty, SamplerOptions().distinct_rows) == (1.0, True)


def test_the_penalty_breaks_a_looping_fill():
    model = looping_model()
    assert fill_texts(model) == [" x" * 6]
    penalised = fill_texts(model, repetition_penalty=1.5, repetition_free=2)[0]
    # two of a token are free, the third costs 3 / 1.5 = 2 < 2.5 (`` y``), the next one more
    assert 2 <= penalised.count(" x") <= 3 and " y" in penalised
    assert fill_texts(model, repetition_penalty=1.0) == [" x" * 6]  # 1 is off


class EmptyLovingDenoiser(LoopingDenoiser):
    """Prefers ``[PAD]`` (an empty hole) at every slot, `` x`` next."""

    def _raw_logits_at(self, input_ids: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        logits = super()._raw_logits_at(input_ids, where)
        logits[:, PAD] = 4.0
        return logits


def test_the_hole_is_never_left_empty():
    """An end token in the first slot would leave the hole empty, which the checks always
    refuse: the first slot writes the best other token, the rest may end the completion."""
    denoiser = EmptyLovingDenoiser(model=torch.nn.Linear(1, 1), tokenizer=ToyTokenizer(),
                                   ids=SpecialIds(mask=MASK, pad=PAD, bos=BOS, eos=EOS),
                                   family="toy", name="empty")
    model = CodeDiffusion(denoiser, ModelInfo(name="empty", family="toy"))
    assert fill_texts(model) == [" x"]
    texts = fill_texts(model, num_samples=3, distinct_rows=True)
    assert all(t.strip() for t in texts) and len(set(texts)) == 3


def test_the_word_tokens_are_computed_once_per_denoiser():
    model = looping_model()
    words = hole_words(model.denoiser)
    assert words == {X, Y, Z, VOCAB.index("f")}
    assert hole_words(model.denoiser) is words


def test_rows_after_the_first_start_from_a_different_first_commit():
    model = looping_model()
    assert fill_texts(model, num_samples=3) == [" x" * 6] * 3  # greedy rows are all the same
    texts = fill_texts(model, num_samples=3, distinct_rows=True)
    assert len(set(texts)) == 3
    assert " x" * 6 in texts  # the greedy row is still there
    assert sorted(t.count(" y") for t in texts) == [0, 1, 1]


def test_rows_the_ladder_sets_apart_stay_greedy():
    model = looping_model()
    model.denoiser.trailing_pad = True  # shorter rows are the same canvas with [PAD] at the end
    request = GenerationRequest(partial_code=PartialCode("f(", ")"), steps=12, num_samples=3,
                                max_length=8)
    opts = SamplerOptions(kind="block", policy="quota", cache="none", distinct_rows=True)
    *_, last = model.stream(request, opts)
    assert all("alternative" not in c.rewards for c in last.candidates)
    assert sorted(c.text for c in last.candidates) == [" x" * 4, " x" * 6, " x" * 8]  # 8 · 1, ½, ¾


def test_many_rows_over_several_canvas_lengths_all_get_a_first_commit():
    """Repeats of several ladder lengths: the earlier rows' picks outnumber a later row's rank
    (it used to ask ``topk`` for zero tokens and fail the request)."""
    model = looping_model()
    model.denoiser.trailing_pad = True
    request = GenerationRequest(partial_code=PartialCode("f(", ")"), steps=12, num_samples=12,
                                max_length=8)
    opts = SamplerOptions(kind="block", policy="quota", cache="none", distinct_rows=True)
    *_, last = model.stream(request, opts)
    texts = [c.text for c in last.candidates]
    assert len(set(texts)) == 12  # seven ladder lengths, and five repeats set apart
    alternatives = [t for c, t in zip(last.candidates, texts, strict=True)
                    if "alternative" in c.rewards]
    assert len(alternatives) == 5 and all(set(t.split()) - {"x"} for t in alternatives)


def test_sampling_ignores_distinct_rows():
    model = looping_model()
    request = GenerationRequest(partial_code=PartialCode("f(", ")"), steps=6, num_samples=3,
                                temperature=0.5, seed=3)
    for distinct in (False, True):
        opts = SamplerOptions(kind="block", canvas_length=6, policy="quota", cache="none",
                              distinct_rows=distinct)
        *_, last = model.stream(request, opts)
        assert all("alternative" not in c.rewards for c in last.candidates)


def test_the_greedy_candidate_stays_first_through_the_generator():
    generator = CodeGenerator(looping_model())
    result = generator.fill("f()", 2, hole="span", num_samples=3, steps=8, use_rewards=False,
                            sampler=SamplerOptions(distinct_rows=True, policy="quota",
                                                   cache="none"))
    texts = [c.text for c in result.candidates]
    assert len(set(texts)) == 3 and set(texts[0]) <= set(" x")
    assert result.candidates[0].rewards.get("alternative", 0.0) == 0.0
    assert all(c.rewards["alternative"] == 1.0 for c in result.candidates[1:])


def test_an_alternative_ranks_after_a_less_confident_greedy_candidate():
    hole = Hole("f()", 2, 2, "span", None)
    greedy = Candidate("a", confidence=(0.2,))
    alternative = Candidate("b", confidence=(0.99,), rewards={"alternative": 1.0})
    assert [c.text for c in score([alternative, greedy], hole, use_rewards=False)] == ["a", "b"]


class Legacy:
    """A model that writes whole results itself (the old ``generate_code`` interface)."""

    def generate_code(self, specification, language="python", partial_code=None, max_length=64,
                      num_samples=1, temperature=0.0):
        return ["pass"] * num_samples


def test_a_model_that_generates_by_itself_refuses_the_decoding_options():
    model = as_code_generation_model(Legacy())
    request = GenerationRequest(specification="say nothing")
    for options in (SamplerOptions(repetition_penalty=1.5), SamplerOptions(distinct_rows=False)):
        with pytest.raises(UnsupportedParameterError, match="sampler option"):
            list(model.stream(request, options))
    assert list(model.stream(request, SamplerOptions()))[-1].candidates


# -- the real embedded model --------------------------------------------------------------------

@pytest.fixture(scope="module")
def embedded():
    from code_diffusion.engine.loading import load_model

    return CodeGenerator(load_model())


EMPTY_LINE = "def pairs(x, y):\n    result = []\n    \n    return result\n"
"""A cursor on an empty line: the line is healed and gets no ladder of canvas lengths."""


def test_the_embedded_models_rows_differ_and_the_greedy_one_leads(embedded):
    cursor = EMPTY_LINE.index("    \n") + 4
    prefix, suffix = EMPTY_LINE[:cursor].rstrip(), EMPTY_LINE[cursor:]
    request = GenerationRequest(partial_code=PartialCode(prefix, suffix), num_samples=3,
                                steps=8, max_length=48)
    line = SamplerOptions(kind="line", healed_break=True)
    *_, last = embedded.model.stream(request, line)
    assert len({c.text for c in last.candidates}) == 3  # the sampler's rows, before any cut
    *_, greedy = embedded.model.stream(request, replace(line, distinct_rows=False))
    assert len({c.text for c in greedy.candidates}) == 1  # what distinct rows are for

    def fill(samples: int, distinct: bool):
        return embedded.fill(EMPTY_LINE, cursor, num_samples=samples, steps=8, max_length=48,
                             require_passing=False,
                             sampler=SamplerOptions(distinct_rows=distinct))

    shown, alone = fill(3, True), fill(1, False)
    print("\nshown:", [c.text for c in shown.candidates])
    assert len(shown.candidates) > len(fill(3, False).candidates)
    assert shown.candidates[0].text == alone.candidates[0].text
    assert "alternative" not in shown.candidates[0].rewards
