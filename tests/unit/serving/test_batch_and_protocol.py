"""serve-ray without Ray: requests filled together give what each gives alone, and the
completions JSON is read and written as documented."""

from __future__ import annotations

import json

import pytest

import tiny_models as tm
from code_diffusion.engine.adapt import as_code_generation_model
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.serving import protocol
from code_diffusion.serving.batch import BatchFiller, Job, can_batch

PROMPTS = [("x = ", "\n"), ("def f(a):\n    return a +", "\n\nprint(f(1))\n"), ("import", "")]


@pytest.fixture(scope="module")
def model():
    return as_code_generation_model(tm.tiny_bert(), tokenizer=tm.tokenizer())


def jobs(**changes) -> list[Job]:
    return [Job(prompt, suffix, max_tokens=6, n=2, steps=6, **changes)
            for prompt, suffix in PROMPTS]


def test_requests_filled_together_match_each_alone(model):
    filler = BatchFiller(model)
    assert can_batch(model)
    alone = [filler.fill([job])[0].texts for job in jobs()]
    passes = filler.passes
    together = [job.texts for job in filler.fill(jobs())]
    assert together == alone
    assert filler.passes - passes <= 6  # one pass per step for all three requests


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
