"""serve-ray without Ray: requests filled together give what each gives alone, in one padded
pass per step (on transformers' BERT and on the engine's own ModernBERT module, the embedded
model), and the completions JSON is read and written as documented."""

from __future__ import annotations

import json

import pytest

import tiny_models as tm
from code_diffusion.engine.adapt import as_code_generation_model
from code_diffusion.engine.loading import load_model
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.serving import protocol
from code_diffusion.serving.batch import BatchFiller, Job, can_batch

PROMPTS = [("x = ", "\n"), ("def f(a):\n    return a +", "\n\nprint(f(1))\n"), ("import", "")]


@pytest.fixture(scope="module")
def model():
    return as_code_generation_model(tm.tiny_bert(), tokenizer=tm.tokenizer())


@pytest.fixture(scope="module")
def embedded():
    return load_model()


def jobs(**changes) -> list[Job]:
    return [Job(prompt, suffix, max_tokens=6, n=2, steps=6, **changes)
            for prompt, suffix in PROMPTS]


def _together_and_alone(filler: BatchFiller, batch: list[Job]) -> tuple[list, list, int]:
    """Each job filled alone, then all together; the padded passes the batch took."""
    alone = [filler.fill([job])[0].texts for job in batch]
    passes = filler.passes
    together = [job.texts for job in filler.fill(batch)]
    assert filler.sequential == 0, "the requests were filled one after the other"
    return together, alone, filler.passes - passes


def test_requests_filled_together_match_each_alone(model):
    assert can_batch(model)
    together, alone, passes = _together_and_alone(BatchFiller(model), jobs())
    assert together == alone
    assert 1 <= passes <= 6  # one pass per step for all three requests


def test_the_embedded_model_batches_through_its_own_module(embedded):
    """The embedded model loads through the engine's ModernBERT module, not transformers:
    its requests still share one padded pass per step."""
    assert type(embedded.denoiser.model).__name__ == "ModernBertMaskedLM"
    assert can_batch(embedded)
    batch = [Job(prompt, suffix, max_tokens=12, n=3, steps=6) for prompt, suffix in PROMPTS]
    together, alone, passes = _together_and_alone(BatchFiller(embedded, cache=False), batch)
    assert together == alone
    assert 1 <= passes <= 6
    assert all(len(texts) == 3 for texts in together)


def test_the_padded_block_cache_gives_what_each_request_gets_alone(embedded):
    """With the cache, the rows are shifted so that every hole starts at one column: the block
    passes recompute each request's hole as when it is filled alone (as the engine does)."""
    filler = BatchFiller(embedded)
    assert filler.cache
    batch = [Job(prompt, suffix, max_tokens=12, n=3, steps=6, hole={"kind": "line"})
             for prompt, suffix in PROMPTS]
    together, alone, passes = _together_and_alone(filler, batch)
    assert together == alone
    assert 1 <= passes <= 6
    engine = embedded.generate("", None, PROMPTS[1], num_samples=3, batch_size=3,
                               max_length=12, steps=6, sampler=SamplerOptions(kind="line"))
    assert sorted(alone[1]) == sorted(c.text for c in engine)


def test_a_copy_head_model_drops_finished_requests_from_its_cached_keys():
    """A model with a copy head keeps the head's keys in the block cache too: when a request
    finishes before the others, its rows leave those keys with the layers' (a request of 2
    rows and one of 3 finish on different steps)."""
    import torch

    from code_diffusion.engine.adapters.copy_head import CopyHead, CopyHeadConfig

    model = load_model(precision="float32")
    module = model.denoiser.model
    torch.manual_seed(0)
    module.copy_head = CopyHead(module.config.hidden_size, CopyHeadConfig(16, 1, 0)).eval()
    module.copy_head.reset_parameters(std=0.3)
    torch.nn.init.constant_(module.copy_head.gate.bias, 0.0)
    try:
        filler = BatchFiller(model)
        assert filler.cache
        batch = [Job("x = ", "\n", max_tokens=4, n=2, steps=2, hole={"kind": "line"}),
                 Job(PROMPTS[1][0], PROMPTS[1][1], max_tokens=24, n=3, steps=12,
                     hole={"kind": "line"})]
        together, alone, _ = _together_and_alone(filler, batch)
        assert together == alone
    finally:
        module.copy_head = None


def test_a_model_that_cannot_batch_is_filled_one_by_one_and_counted():
    class Plain:  # no denoiser: nothing to pad
        info = None

        def generate(self, specification, language, partial_code, **params):
            return [type("C", (), {"text": partial_code.prefix.upper()})()] * params[
                "num_samples"]

    filler = BatchFiller(Plain())
    assert not can_batch(filler.model)
    filled = filler.fill(jobs())
    assert filler.sequential == 3 and filler.passes == 0
    assert filled[0].texts == ["X = "] * 2


def test_the_padded_pass_agrees_with_the_engine(model):
    [job] = BatchFiller(model).fill(jobs()[1:2])
    engine = model.generate("", None, PROMPTS[1], num_samples=2, batch_size=2, max_length=6,
                            steps=6, sampler=SamplerOptions(kind="block", cache="none"))
    assert sorted(job.texts) == sorted(c.text for c in engine)


def test_stop_sequences_cut_the_text(model):
    [job] = BatchFiller(model).fill([Job("x = ", "", max_tokens=6, steps=6)])
    assert job.texts[0], "the tiny model left the hole empty"
    stop = job.texts[0][len(job.texts[0]) // 2 :]
    [cut] = BatchFiller(model).fill([Job("x = ", "", max_tokens=6, steps=6, stop=(stop,))])
    assert cut.texts[0] == job.texts[0][: job.texts[0].index(stop)]


def test_a_request_body_becomes_a_job():
    job, stream = protocol.parse({"prompt": "a", "suffix": "b", "n": 3, "max_tokens": 5,
                                  "stop": "\n", "stream": True, "steps": 4}, default_steps=8)
    assert (job.prompt, job.suffix, job.n, job.max_tokens, job.stop, job.steps) == (
        "a", "b", 3, 5, ("\n",), 4)
    assert stream is True
    assert protocol.parse({"prompt": "a"}, default_steps=8)[0].steps == 8


def test_the_hole_shape_reaches_the_canvas(embedded):
    job, _ = protocol.parse({"prompt": "x =", "code_diffusion": {
        "kind": "line", "healed_break": True, "preamble": "# util.py\nLIMIT = 3\n"}},
        default_steps=8)
    options = job.options(cache=True)
    assert (options.kind, options.healed_break, options.preamble) == (
        "line", True, "# util.py\nLIMIT = 3\n")
    assert options.slots(48) == 28  # a healed line's canvas, not the 48-slot block
    assert Job("x =", max_tokens=48).options(cache=True).slots(48) == 48
    from code_diffusion.engine.canvas import build_canvas

    with_preamble = build_canvas(embedded.denoiser, job.request(), options)
    without = build_canvas(embedded.denoiser, job.request(), Job("x =").options(cache=True))
    preamble = embedded.denoiser.encode(options.preamble)
    bos = [embedded.denoiser.ids.bos]  # the prefix starts the file
    assert with_preamble.layout.left[: len(preamble) + 1] == bos + preamble
    assert len(with_preamble.layout.left) == len(without.layout.left) + len(preamble)


@pytest.mark.parametrize(("hole", "param"), [
    ({"kind": "tree"}, "code_diffusion.kind"), ({"bogus": 1}, "code_diffusion.bogus"),
    ({"span_chars": -1}, "code_diffusion.span_chars"), ("line", "code_diffusion"),
    ({"preamble": 3}, "code_diffusion.preamble")])
def test_a_bad_hole_shape_names_the_field(hole, param):
    with pytest.raises(protocol.BadRequest) as caught:
        protocol.parse({"prompt": "a", "code_diffusion": hole}, default_steps=8)
    assert caught.value.param == param


@pytest.mark.parametrize(("body", "param"), [
    ({}, "prompt"), ({"prompt": 1}, "prompt"), ({"prompt": "a", "n": 0}, "n"),
    ({"prompt": "a", "temperature": 3}, "temperature"), ({"prompt": "a", "bogus": 1}, "bogus"),
    ({"prompt": "a", "stop": [1]}, "stop"), ({"prompt": "a", "stream": "yes"}, "stream"),
])
def test_bad_bodies_name_the_field(body, param):
    with pytest.raises(protocol.BadRequest) as caught:
        protocol.parse(body, default_steps=8)
    assert caught.value.param == param and param in str(caught.value)


def test_answers_and_events_have_the_completions_shape():
    job = Job("p", texts=["a\nb", "c"])
    answer = protocol.answer(job, "m")
    assert [(c["index"], c["text"]) for c in answer["choices"]] == [(0, "a\nb"), (1, "c")]
    events = list(protocol.events(job, "m"))
    assert events[-1] == b"data: [DONE]\n\n"
    pieces = [json.loads(e[6:])["choices"][0] for e in events[:-1]]
    assert "".join(p["text"] for p in pieces if p["index"] == 0) == "a\nb"
