"""A deterministic stand-in for the model, for unit tests of the worker and the LSP layer only.

:class:`FakeGenerator` has ``CodeGenerator``'s ``fill`` contract: it walks ``steps`` denoising
steps, calls ``on_step`` after each, checks ``should_stop`` between them (raising
``GenerationCancelled``) and returns ranked candidates. Its candidates are a pure function of
the hole, so tests can assert exact edits. A test can hold it between steps with ``gate`` to
cancel it at a known point, and read ``calls`` to see what reached it and how far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from code_diffusion.engine.context import ContextOptions, WorkspaceIndex, assemble_context
from code_diffusion.engine.context.candidates import draft_source
from code_diffusion.engine.errors import GenerationCancelled, GenerationError, ModelLoadError
from code_diffusion.engine.interface import ModelInfo, SampleStep
from code_diffusion.engine.languages import closers_end, with_closers
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import Candidate, GenerationRequest

FAKE_INFO = ModelInfo(name="fake-diffusion", family="fake", device="cpu", precision="float32")


@dataclass(frozen=True)
class FakeFillResult:
    candidates: tuple[Candidate, ...]
    start: int
    end: int
    forward_passes: int
    elapsed_ms: float

    def passing(self) -> list[Candidate]:
        """As ``FillResult.passing``: no failed checks, no duplicates, best first."""
        unique = {c.text: c for c in reversed(self.candidates) if not c.problems}
        return [c for c in self.candidates if unique.get(c.text) is c]


@dataclass
class FakeCall:
    """One ``fill`` call as the fake saw it."""

    text: str
    start: int
    end: int
    language: str | None
    specification: str
    hole: str
    params: dict[str, Any]
    path: str | None = None
    workspace_paths: tuple[str, ...] = ()
    """The paths of the workspace index the fill was given (empty without one)."""
    steps_run: int = 0
    cancelled: bool = False
    sampler: SamplerOptions | None = None
    """The sampler options the fill was given (``None``: the engine's defaults)."""


def fake_candidates(text: str, start: int, end: int, num_samples: int) -> tuple[str, ...]:
    """What the fake writes into a hole: ``value_<i>`` words, or ``return value_<i>`` at the
    start of an empty indented line."""
    line_start = text.rfind("\n", 0, start) + 1
    head = text[line_start:start]
    word = "return value" if head.strip() == "" and head else "value"
    return tuple(f"{word}_{i}" for i in range(num_samples))


@dataclass
class FakeGenerator:
    """``fill`` with the real generator's signature and cancellation behaviour."""

    step_delay: float = 0.0
    """Seconds to sleep after each step (to make a request take a while)."""
    gate: threading.Event | None = None
    """When set, the fake waits for it after step 1 (tests open it to let the fill finish)."""
    fail_with: Exception | None = None
    """Raised instead of returning candidates."""
    chances: tuple[float, ...] = ()
    """The ``chance`` of the i-th candidate (later ones, and all without this, have none)."""
    info: ModelInfo = FAKE_INFO
    calls: list[FakeCall] = field(default_factory=list)
    reached_step: threading.Event = field(default_factory=threading.Event)
    """Set once a fill has run its first step."""

    def fill(self, text: str, start: int, end: int | None = None, *,
             language: str | None = None, specification: str = "", hole: str = "auto",
             on_step: Callable[[SampleStep], None] | None = None,
             should_stop: Callable[[], bool] | None = None, closers: bool = False,
             path: str | None = None, workspace: WorkspaceIndex | None = None,
             context: ContextOptions | None = None, sampler: SamplerOptions | None = None,
             **params: Any) -> FakeFillResult:
        end = start if end is None else end
        request = GenerationRequest(language=language, specification=specification, **params)
        call = FakeCall(text, start, end, language, specification, hole, params, path,
                        tuple(workspace.paths()) if workspace is not None else (),
                        sampler=sampler)
        self.calls.append(call)
        began = time.perf_counter()
        texts = fake_candidates(text, start, end, request.num_samples)
        sources: dict[str, str] = {}
        if context is not None:  # the real context assembly's drafts first, as the engine
            drafts = assemble_context(text, start, end, path=path, language=language,
                                      index=workspace, options=context).drafts
            for draft in drafts:
                sources.setdefault(draft.text, draft_source(draft))
            texts = (*sources, *texts)
        for step in range(1, request.steps + 1):
            if on_step is not None:
                on_step(SampleStep(step, texts, (0,) * len(texts), step))
            call.steps_run = step
            self.reached_step.set()
            if step == 1 and self.gate is not None:
                self.gate.wait(10)
            if self.step_delay:
                time.sleep(self.step_delay)
            if should_stop is not None and should_stop():
                call.cancelled = True
                raise GenerationCancelled("generation cancelled between denoising steps")
        if self.fail_with is not None:
            raise self.fail_with
        edit_end = closers_end(text, end) if closers and end == start else end
        candidates = tuple(
            Candidate(text=with_closers(t, text[end:edit_end]), score=1.0 - i / 10,
                      origin="draft" if t in sources else "denoised", source=sources.get(t, ""),
                      chance=self.chances[i] if i < len(self.chances) else None)
            for i, t in enumerate(texts))
        return FakeFillResult(candidates, start, edit_end, request.steps,
                              (time.perf_counter() - began) * 1000)


def fake_loader(generator: FakeGenerator | None = None, *, delay: float = 0.0) -> Callable:
    """A loader for ``create_server(load=...)`` / ``ModelWorker``: reports two phases and
    returns ``generator``. A ``model_path`` that does not exist fails as the real loader does."""
    model = generator or FakeGenerator()

    def load(options: Any, report: Callable[[str, int], None]) -> FakeGenerator:
        report("Loading the fake model", 50)
        if delay:
            time.sleep(delay)
        if options.model_path and not Path(options.model_path).is_dir():
            raise ModelLoadError(f"model directory {options.model_path} does not exist")
        return model

    return load


def no_candidates_error() -> GenerationError:
    return GenerationError("no candidate passed the checks (1 generated)",
                           ["'': the model left the hole empty"])
