"""SamplerOptions: validated on construction, and the one place the canvas is sized."""

from __future__ import annotations

import pytest

from code_diffusion.engine.errors import InvalidRequestError
from code_diffusion.engine.options import BLOCK_CANVAS, LINE_CANVAS, SamplerOptions


@pytest.mark.parametrize(("field", "value"), [
    ("kind", "paragraph"), ("policy", "greedy"), ("cache", "kv"), ("threshold", 0),
    ("threshold", 1.5), ("top_p", -1), ("canvas_length", 0), ("window", 2),
    ("cache_refresh", -1), ("length_control", "yes"), ("should_stop", 3),
])
def test_bad_values_name_the_field(field, value):
    with pytest.raises(InvalidRequestError, match=field) as caught:
        SamplerOptions(**{field: value})
    assert caught.value.field == field


@pytest.mark.parametrize(("options", "max_length", "slots", "ladder"), [
    (SamplerOptions(kind="line"), 64, LINE_CANVAS, True),
    (SamplerOptions(kind="block"), 128, BLOCK_CANVAS, True),
    (SamplerOptions(kind="block"), 16, 16, True),
    (SamplerOptions(kind="block", length_control=False), 100, 100, False),
    (SamplerOptions(kind="block", canvas_length=7), 100, 7, False),
    (SamplerOptions(kind="span", span_chars=40), 64, 28, False),
    (SamplerOptions(kind="span", span_chars=400), 64, 64, False),
    (SamplerOptions(kind="line", healed_break=True), 64, LINE_CANVAS + 4, False),
    (SamplerOptions(kind="line", healed_break=True, length_control=False), 50, 50, False),
])
def test_canvas_rules(options, max_length, slots, ladder):
    assert options.slots(max_length) == slots
    assert options.ladder is ladder


def test_a_healed_line_is_sampled_as_a_block():
    assert SamplerOptions(kind="line", healed_break=True).sampled_kind == "block"
    assert SamplerOptions(kind="line").sampled_kind == "line"
