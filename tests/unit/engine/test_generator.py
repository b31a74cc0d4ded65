"""CodeGenerator: hole shapes, post-processing, rewards and clear failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from code_diffusion.engine import (
    Candidate,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    InvalidRequestError,
    ModelInfo,
    SampleStep,
)
from code_diffusion.engine.generator import CodeGenerator, heal_prefix, hole_kind, unheal
from code_diffusion.engine.rewards import Hole, score, trim


class ScriptedModel:
    """Conforms to the interface and returns the texts it was given, one step per text."""

    def __init__(self, texts: list[str], steps: int = 3) -> None:
        self.texts, self.steps = texts, steps
        self.info = ModelInfo(name="scripted", family="test")
        self.requests: list[GenerationRequest] = []
        self.steps_run = 0

    def generate(self, specification, language=None, partial_code=None, **params):
        *_, last = self.sample(specification, language, partial_code, **params)
        return list(last.candidates)

    def sample(self, specification, language=None, partial_code=None,
               **params) -> Iterator[SampleStep]:
        request = GenerationRequest(specification=specification, language=language,
                                    partial_code=partial_code, **params)
        self.requests.append(request)
        texts = [self.texts[i % len(self.texts)] for i in range(request.num_samples)]
        for step in range(1, self.steps + 1):
            self.steps_run += 1
            yield SampleStep(step=step, texts=tuple(t[:step] for t in texts),
                             masked=(self.steps - step,) * len(texts), forward_passes=step)
        yield SampleStep(step=self.steps + 1, texts=tuple(texts), masked=(0,) * len(texts),
                         forward_passes=self.steps,
                         candidates=tuple(Candidate(t, confidence=(0.5,)) for t in texts))


BUFFER = "def add(a, b):\n    return \n\nprint(add(1, 2))\n"
CURSOR = BUFFER.index("return ") + len("return ")


@pytest.mark.parametrize(("text", "start", "end", "kind"), [
    ("x = 1\ny = \n", 10, 10, "line"),
    ("def f():\n    \n", 13, 13, "block"),
    ("a = 1\n\nb = 2\n", 6, 6, "line"),
    ("a = 1\nb = 2\n", 0, 5, "span"),
])
def test_hole_kind_from_the_buffer(text, start, end, kind):
    assert hole_kind(text, start, end) == kind


def test_line_holes_are_cut_at_the_line_end_and_drop_auto_closed_brackets():
    hole = Hole("print(|)\n".replace("|", ""), 6, 6, "line", "python")
    assert trim("x + 1)\nmore()", hole) == "x + 1"


def test_block_holes_stop_before_repeating_the_suffix():
    text = "def f(x):\n    \n    return total\n"
    hole = Hole(text, 14, 14, "block", "python")
    assert trim("total = x * 2\n    return total\n", hole) == "total = x * 2"


def test_fill_passes_prefix_and_suffix_and_ranks_syntax_first():
    model = ScriptedModel(["a + b", "a + (b"])
    result = CodeGenerator(model).fill(BUFFER, CURSOR, language="python", num_samples=2)
    request = model.requests[-1]
    assert request.partial_code.prefix == BUFFER[:CURSOR].rstrip()  # the space is healed
    assert request.partial_code.suffix == BUFFER[CURSOR:]
    assert [c.text for c in result.candidates] == ["a + b", "a + (b"]
    assert result.candidates[1].problems == ("it adds 1 syntax error (python grammar)",)
    assert [c.text for c in result.passing()] == ["a + b"]
    assert len(result.candidates) == 2  # exactly num_samples


def test_a_candidate_reading_a_name_the_file_never_mentions_fails_its_check():
    model = ScriptedModel(["a + c", "a + b"])
    result = CodeGenerator(model).fill(BUFFER, CURSOR, language="python", num_samples=2,
                                       require_passing=False)
    assert [c.text for c in result.passing()] == ["a + b"]
    assert result.candidates[1].problems == (
        "it reads `c`, which the file never defines, imports or mentions",)
    assert result.candidates[1].chance == 0
    unchecked = CodeGenerator(ScriptedModel(["a + c"])).fill(BUFFER, CURSOR, language="python",
                                                           use_rewards=False)
    assert [c.text for c in unchecked.passing()] == ["a + c"]


def test_a_line_copied_from_another_file_may_read_that_files_names():
    written = Candidate("a + c", confidence=(0.5,))
    copied = Candidate("a + c", origin="draft", source="other.py:3",
                       rewards={"retrieval": 4.0})
    hole = Hole(BUFFER, CURSOR, CURSOR, "line", "python")
    scored = {c.origin: c.problems for c in score([written, copied], hole, True)}
    assert scored == {"denoised": (
        "it reads `c`, which the file never defines, imports or mentions",), "draft": ()}


def test_an_already_broken_buffer_does_not_disqualify_everything():
    broken = "def f(:\n    x = \n"
    model = ScriptedModel(["1"])
    result = CodeGenerator(model).fill(broken, broken.index("= ") + 2, language="python")
    assert [c.text for c in result.passing()] == ["1"]


def test_a_selection_inside_one_line_is_rewritten_on_that_line():
    text = "value = compute(1)\nother = 2\n"
    model = ScriptedModel(["1\n\n\ndef test_(self, (1)"])
    result = CodeGenerator(model).fill(text, text.index("compute"), text.index("\nother"),
                                       language="python")
    assert [c.text for c in result.passing()] == ["1"]
    across = "value = compute(\n    1)\n"
    model = ScriptedModel(["compute(\n    2)"])
    result = CodeGenerator(model).fill(across, across.index("compute"), across.index(")\n") + 1,
                                       language="python")
    assert [c.text for c in result.passing()] == ["compute(\n    2)"]


BROKEN_BELOW = ("def total(items):\n    pass\n\n# print the total\n\n"
                "value = compute(1)\nbroken = (1 +\n")


@pytest.mark.parametrize(("candidate", "passes"), [
    ("\ndef add_((,,,,,", False),  # an unclosed bracket folds into the error below
    ("\nprint(total([1, 2, 3]))", True),
    ("\nx = [", False),
])
def test_errors_a_candidate_adds_above_a_broken_region_are_counted(candidate, passes):
    cursor = BROKEN_BELOW.index("\n\nvalue") + 1
    model = ScriptedModel([candidate])
    result = CodeGenerator(model).fill(BROKEN_BELOW, cursor, language="python",
                                       require_passing=False)
    [scored] = result.candidates
    assert (not scored.problems) == passes, scored.problems
    if not passes:
        assert "syntax error" in scored.problems[0]


def test_when_nothing_passes_the_error_lists_each_reason():
    model = ScriptedModel(["", "a + (b"])
    with pytest.raises(GenerationError) as info:
        CodeGenerator(model).fill(BUFFER, CURSOR, language="python", num_samples=2)
    message = str(info.value)
    assert "the model left the hole empty" in message
    assert "adds 1 syntax error" in message
    assert "failed to generate valid code" not in message


def test_without_rewards_syntax_is_not_checked():
    model = ScriptedModel(["a + (b"])
    result = CodeGenerator(model).fill(BUFFER, CURSOR, language="python", use_rewards=False)
    assert [c.text for c in result.passing()] == ["a + (b"]


def test_should_stop_cancels_between_steps():
    model = ScriptedModel(["a + b"], steps=10)
    calls = []
    with pytest.raises(GenerationCancelled):
        CodeGenerator(model).fill(BUFFER, CURSOR, language="python",
                                  on_step=calls.append, should_stop=lambda: len(calls) >= 2)
    assert model.steps_run == 2


@pytest.mark.parametrize(("start", "end", "field"), [(-1, None, "start"), (10**6, None, "start"),
                                                     (5, 2, "end"), (0, 10**6, "end")])
def test_bad_offsets_name_the_field(start, end, field):
    with pytest.raises(InvalidRequestError) as info:
        CodeGenerator(ScriptedModel(["x"])).fill(BUFFER, start, end)
    assert info.value.field == field


def test_from_specification_needs_a_specification():
    with pytest.raises(InvalidRequestError, match="specification is empty"):
        CodeGenerator(ScriptedModel(["x"])).from_specification("  ")


@pytest.mark.parametrize(("prefix", "view", "moved"), [
    ("def f():\n    ", "def f():", "\n    "),
    ("x = ", "x =", " "),
    ("x = 1", "x = 1", ""),
    ("a\n\n", "a", "\n\n"),
])
def test_the_whitespace_before_the_cursor_moves_into_the_hole(prefix, view, moved):
    assert heal_prefix(prefix) == (view, moved)


@pytest.mark.parametrize(("candidate", "moved", "inserted"), [
    ("\n        return x", "\n    ", "    return x"),  # deeper than the cursor: kept
    ("\nreturn x", "\n    ", "return x"),  # shallower: the cursor's indentation stays
    (" + 1\n    return x", "\n    ", "return x"),  # continued the line above: dropped
    (" value", " ", "value"),
    ("value", " ", "value"),
])
def test_the_moved_whitespace_comes_off_the_candidate(candidate, moved, inserted):
    assert unheal(candidate, moved) == inserted
