"""Draft-and-edit and draft judging on the real embedded model.

The case is the issue's: a near copy with one name changed (``save_order`` copies
``save_user``'s first line, which names ``users`` and ``user``). What the embedded model does
with it is printed (``-s`` shows it); the tests check the mechanics (one pass to judge, the
edited draft offered with its provenance and passes, the cache prior changing the logits),
not that the model gets the line right: measured on the tuning split it does not
(docs/benchmarks.md), so the default never edits a draft.
"""

from __future__ import annotations

import pytest
import torch

from code_diffusion.engine.context import ContextOptions, NgramCache
from code_diffusion.engine.diffusion import prior_processor
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.engine.loading import load_model
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import GenerationRequest, PartialCode

TEXT = ("def save_user(store, user):\n    store.users.append(user)\n    store.flush()\n\n\n"
        "def save_order(store, order):\n    \n    store.flush()\n")
CURSOR = TEXT.index("    \n    store.flush()") + 4
RIGHT = "store.orders.append(order)"


@pytest.fixture(scope="module")
def generator():
    return CodeGenerator(load_model())


def fill(generator, **context):
    return generator.fill(TEXT, CURSOR, language="python", hole="line", num_samples=3,
                          steps=8, max_length=48, require_passing=False,
                          context=ContextOptions(**context))


def test_the_near_copy_is_offered_as_a_draft_with_its_source(generator):
    result = fill(generator)
    drafts = [c for c in result.candidates if c.origin == "draft"]
    print("\ndefault:", [(c.text, c.origin, c.source) for c in result.candidates])
    # the neighbours (``def save_user(store, user)`` / ``def save_order(store, order)``)
    # rename ``user``; nothing around says ``users`` becomes ``orders``
    assert drafts and drafts[0].text == "store.users.append(order)"
    assert drafts[0].source == "this file:2, renamed user → order"
    plain = fill(generator, rename_lines=0)
    assert next(c.text for c in plain.candidates if c.origin == "draft") == (
        "store.users.append(user)")
    assert not any(c.origin == "edited_draft" for c in result.candidates)


@pytest.mark.parametrize("threshold", [0.01, 0.3])
def test_the_model_edits_the_draft(generator, threshold):
    result = fill(generator, edit_drafts=True, edit_threshold=threshold)
    print(f"\nedit under {threshold}:",
          [(c.text, c.origin, c.forward_passes) for c in result.candidates])
    edited = [c for c in result.candidates if c.origin == "edited_draft"]
    texts = [c.text.strip() for c in result.candidates]
    assert len(texts) == len(set(texts))
    if edited:  # collapsed away when the edit left the draft as it was
        assert edited[0].source.startswith("this file:2")
        assert edited[0].forward_passes >= 1  # the judging pass, then the denoising ones
        assert len(edited[0].confidence) >= 1


def test_judging_scores_every_draft_token_in_one_pass(generator):
    model = generator.model
    request = GenerationRequest(language="python", steps=8, max_length=48,
                                partial_code=PartialCode(TEXT[:CURSOR].rstrip(), TEXT[CURSOR:]))
    options = SamplerOptions(kind="line", healed_break=True)
    texts = ["\n    store.users.append(user)", "\n    " + RIGHT]
    for mode in ("masked", "visible"):
        model.judge_mode = mode
        judged = model.judge(request, options, texts)
        print(f"\n{mode}:", [[round(p, 3) for p in row] for row in judged])
        assert [len(row) for row in judged] == [len(model.denoiser.encode(t)) for t in texts]
        assert all(0 <= p <= 1 for row in judged for p in row)
    model.judge_mode = "masked"


def test_the_cache_prior_raises_the_tokens_it_has_seen(generator):
    denoiser = generator.model.denoiser
    ids = denoiser.encode("store.users.append(user)")
    cache = NgramCache(order=2)
    cache.add(ids)
    canvas_ids = torch.tensor([[ids[0], denoiser.ids.mask, denoiser.ids.mask]])

    class Chunk:
        pass

    chunk = Chunk()
    chunk.ids, chunk.denoiser = canvas_ids, denoiser
    where = canvas_ids == denoiser.ids.mask
    options = SamplerOptions(prior=cache, prior_weight=0.3)
    processor = prior_processor(chunk, where, options)
    assert processor.contexts == [[ids[0]], []]
    logits = processor(torch.zeros(2, len(denoiser.tokenizer)))
    assert logits[0, ids[1]] > 0 and float(logits[1].abs().sum()) == 0
