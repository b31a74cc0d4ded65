"""The preamble (snippets from elsewhere, docs/context.md) goes ahead of the local prefix and
never pushes the window past the model's context."""

from __future__ import annotations

import pytest

from code_diffusion.engine.canvas import build_canvas
from code_diffusion.engine.errors import InvalidRequestError
from code_diffusion.engine.loading import load_model
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import GenerationRequest, PartialCode

REQUEST = GenerationRequest(partial_code=PartialCode("def f(x):\n    return", "\n"),
                            max_length=24)
PREAMBLE = "# this file:3\n    y = x + 1\n"


@pytest.fixture(scope="module")
def denoiser():
    return load_model().denoiser


def test_the_preamble_sits_between_bos_and_the_local_prefix(denoiser):
    plain = build_canvas(denoiser, REQUEST, SamplerOptions(kind="line")).layout
    layout = build_canvas(denoiser, REQUEST, SamplerOptions(kind="line", preamble=PREAMBLE)).layout
    pre = denoiser.encode(PREAMBLE)
    assert layout.left == plain.left[:1] + pre + plain.left[1:]
    assert layout.right == plain.right
    assert layout.spec_slice.start == 1 + len(pre)


def test_a_long_preamble_keeps_its_end_and_half_the_room(denoiser):
    long = "".join(f"value_{i} = {i}\n" for i in range(600))
    layout = build_canvas(denoiser, REQUEST, SamplerOptions(kind="line", preamble=long)).layout
    slots = layout.lengths[0]
    assert len(layout.left) + slots + len(layout.right) <= denoiser.max_context
    text = denoiser.decode(layout.left)
    assert "value_599 = 599\n" in text and "value_0 = 0\n" not in text
    assert text.endswith("def f(x):\n    return")


def test_the_preamble_must_be_text():
    with pytest.raises(InvalidRequestError, match="preamble must be a string"):
        SamplerOptions(preamble=["# x"])
