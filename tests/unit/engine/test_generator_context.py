"""CodeGenerator with context: drafts as candidates, provenance, dedupe, the preamble, and the
capability path for a model that cannot take context."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from code_diffusion.engine import Candidate, GenerationRequest, ModelInfo, SampleStep
from code_diffusion.engine.context import ContextOptions, WorkspaceIndex
from code_diffusion.engine.context.candidates import collapse
from code_diffusion.engine.errors import UnsupportedParameterError
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.engine.interface import ModelAdapter
from code_diffusion.engine.options import SamplerOptions

DOCUMENT = (
    "def first(items):\n"
    "    total = 0\n"
    "    for item in items:\n"
    "        total += item.size\n"
    "    return total\n"
    "\n"
    "\n"
    "def second(items):\n"
    "    total = 0\n"
    "    for item in items:\n"
    "        \n"
    "    return total\n"
)
CURSOR = DOCUMENT.index("        \n    return total\n", DOCUMENT.index("second")) + 8
RIGHT = "total += item.size"


class Scripted(ModelAdapter):
    """Writes the texts it was given; records the options; judges by a table."""

    def __init__(self, texts: list[str], *, context: bool = True,
                 judged: dict[str, float] | None = None) -> None:
        self.texts, self.judged = texts, judged or {}
        self.info = ModelInfo(name="scripted", family="test")
        self.accepts_preamble = self.accepts_prior = self.judges_drafts = context
        self.options: list[SamplerOptions] = []
        self.judge_calls: list[list[str]] = []

    def token_counter(self):
        return lambda text: [len(word) for word in text.split()]

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        if not self.accepts_preamble:
            options.refuse_unsupported(self.info.name)
        self.options.append(options)
        found = tuple(Candidate(self.texts[i % len(self.texts)], confidence=(0.5,),
                                forward_passes=4) for i in range(request.num_samples))
        yield SampleStep(step=1, texts=tuple(c.text for c in found), masked=(0,) * len(found),
                         forward_passes=4, candidates=found)

    def judge(self, request, options, texts):
        self.judge_calls.append(list(texts))
        return [(self.judged.get(t.strip(), 0.5),) * 3 for t in texts]


def fill(model, **kwargs):
    params = {"num_samples": 3, "language": "python", "require_passing": False}
    return CodeGenerator(model).fill(DOCUMENT, CURSOR, **{**params, **kwargs})


def test_without_context_only_the_model_writes():
    result = fill(Scripted(["pass"]))
    assert [c.origin for c in result.candidates] == ["denoised"]
    assert result.candidates[0].source == ""
    assert result.candidates[0].to_json()["origin"] == "denoised"


def test_drafts_are_offered_with_their_source_and_ranked():
    result = fill(Scripted(["pass"]), path="m.py", context=ContextOptions())
    best = result.candidates[0]
    assert (best.text, best.origin, best.source) == (RIGHT, "draft", "m.py:4")
    assert best.rewards["retrieval"] > 0
    assert {"text", "origin", "source"} <= set(best.to_json())
    assert "denoised" in {c.origin for c in result.candidates}


def test_repeated_candidates_collapse():
    result = fill(Scripted(["pass", "pass ", RIGHT]), context=ContextOptions())
    texts = [c.text.strip() for c in result.candidates]
    assert len(texts) == len(set(texts))
    assert texts.count(RIGHT) == 1
    assert collapse([Candidate("a"), Candidate(" a "), Candidate("b")]) == [
        Candidate("a"), Candidate("b")]


def test_the_preamble_reaches_the_model_that_accepts_it():
    index = WorkspaceIndex()
    index.update("other.py", "import os\n\n\ndef helper(items):\n    total = 0\n"
                 "    for item in items:\n        total += item.weight\n    return total\n")
    model = Scripted(["pass"])
    far = "\n" * 5 + "x = 1\n" * 40
    text = DOCUMENT + far
    CodeGenerator(model).fill(text, CURSOR, language="python", path="m.py", workspace=index,
                              context=ContextOptions(local_lines=2), require_passing=False)
    assert "other.py" in model.options[-1].preamble


def test_a_model_that_takes_a_preamble_but_no_prior_gets_the_snippets_only(caplog):
    """As the remote backend: the snippets go into its prompt, the cache prior cannot."""
    index = WorkspaceIndex()
    index.update("other.py", "import os\n\n\ndef helper(items):\n    total = 0\n"
                 "    for item in items:\n        total += item.weight\n    return total\n")
    model = Scripted(["pass"])
    model.accepts_prior = False
    with caplog.at_level(logging.INFO, logger="code_diffusion.engine.generator"):
        CodeGenerator(model).fill(DOCUMENT + "\n" * 5 + "x = 1\n" * 40, CURSOR,
                                  language="python", path="m.py", workspace=index,
                                  context=ContextOptions(local_lines=2, prior_weight=0.3),
                                  require_passing=False)
    assert "other.py" in model.options[-1].preamble and model.options[-1].prior is None
    assert [r for r in caplog.records if "does not accept a cache prior" in r.message]


def test_the_remote_backend_takes_the_preamble_and_not_the_prior():
    from code_diffusion.engine.adapters.remote import RemoteModel
    from code_diffusion.engine.diffusion import CodeDiffusion

    assert RemoteModel.accepts_preamble and not RemoteModel.accepts_prior
    assert CodeDiffusion.accepts_preamble and CodeDiffusion.accepts_prior


def test_the_model_judges_drafts_when_its_weight_is_on():
    model = Scripted(["pass"], judged={RIGHT: 0.001})
    result = fill(model, context=ContextOptions(judge_weight=4.0))
    assert model.judge_calls and RIGHT in [t.strip() for t in model.judge_calls[0]]
    draft = next(c for c in result.candidates if c.text == RIGHT)
    assert draft.rewards["likelihood"] == pytest.approx(0.001)
    assert draft.forward_passes == 1
    unjudged = fill(Scripted(["pass"]), context=ContextOptions(judge_weight=4.0))
    assert draft.score < next(c for c in unjudged.candidates if c.text == RIGHT).score


def test_a_model_without_the_capability_gets_no_preamble_and_says_so_once(caplog):
    model = Scripted(["pass"], context=False)
    index = WorkspaceIndex()
    index.update("other.py", DOCUMENT)
    generator = CodeGenerator(model)
    with caplog.at_level(logging.INFO, logger="code_diffusion.engine.generator"):
        for _ in range(2):
            result = generator.fill(DOCUMENT + "\n" * 30, CURSOR, language="python",
                                    path="m.py", workspace=index,
                                    context=ContextOptions(local_lines=1, prior_weight=0.1),
                                    require_passing=False)
    assert all(o.preamble == "" and o.prior is None for o in model.options)
    assert result.candidates[0].origin == "draft"
    assert len([r for r in caplog.records if "does not accept a preamble" in r.message]) == 1
    with pytest.raises(UnsupportedParameterError):
        SamplerOptions(preamble="# this file:1\n").refuse_unsupported("legacy")


def test_a_legacy_model_gets_drafts_ranked_by_evidence():
    class Legacy:
        info = ModelInfo(name="legacy", family="legacy")

        def generate_code(self, specification, language="python", prefix="", suffix="",
                          max_length=512, num_samples=5):
            return ["pass"] * num_samples

    result = fill(Legacy(), context=ContextOptions())
    assert result.candidates[0].origin == "draft"
    assert result.candidates[0].text == RIGHT


def test_a_line_is_cut_at_its_confidence_cliff():
    from code_diffusion.engine.context.candidates import cliff_head
    from code_diffusion.engine.generator import cut_at_cliff

    line = Candidate("total = compute(x)", confidence=(0.99, 0.95, 0.9, 0.2, 0.1),
                     pieces=("total", " =", " compute", "(x", ")"))
    assert cliff_head(line, 0.5) == "total = compute"
    cut = cut_at_cliff(line, 0.5)
    assert cut.text == "total = compute" and cut.rewards["cut"] == 3
    assert cut.confidence == line.confidence  # ranked by the whole line's confidence
    short = Candidate("x = y", confidence=(0.99, 0.1), pieces=("x", " = y"))
    assert cliff_head(short, 0.5) is None and cut_at_cliff(short, 0.5) is short
    sure = Candidate("x = y", confidence=(0.99, 0.99), pieces=("x", " = y"))
    assert cut_at_cliff(sure, 0.5) is sure


class Unsure(Scripted):
    def stream(self, request, options):
        found = tuple(Candidate("\n    total = compute(x)",
                                confidence=(0.99, 0.95, 0.9, 0.2, 0.1),
                                pieces=("\n    total", " =", " compute", "(x", ")"))
                      for _ in range(request.num_samples))
        yield SampleStep(step=1, texts=("",) * len(found), masked=(0,) * len(found),
                         forward_passes=1, candidates=found)


def test_the_cliff_option_offers_the_head_without_the_syntax_check():
    text = "from stats import compute\n\ndef f(x):\n    \n"
    cursor = text.index("    \n") + 4
    plain = CodeGenerator(Unsure([""])).fill(text, cursor, language="python",
                                             context=ContextOptions())
    assert plain.candidates[0].text == "total = compute(x)"
    cut = CodeGenerator(Unsure([""])).fill(text, cursor, language="python", hole="line",
                                           context=ContextOptions(cliff=True))
    assert cut.candidates[0].text == "total = compute"
    assert not cut.candidates[0].problems and "syntax" not in cut.candidates[0].rewards
