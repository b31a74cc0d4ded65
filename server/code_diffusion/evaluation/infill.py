"""Run infill tasks through the engine and score them.

Each task is filled in up to three canvas modes, always greedily (temperature 0, one sample):

* ``length-control``: the engine's default; it chooses the canvas from the hole and trims
  unused slots;
* ``fixed-canvas``: ``length_control=False``, a canvas of ``max_length`` tokens that must all be
  filled (what a sampler without length control does);
* ``oracle-length``: a fixed canvas (all slots filled) of exactly as many tokens as the
  reference middle, newline included (an upper bound on what a length policy can give; the
  count is the tokenizer's count of the middle on its own).

The buffer handed to the engine is ``prefix + suffix`` with the hole at ``len(prefix)``.
Completions of executable tasks are scored in the sandbox (pass@1), and every task with a
reference gets exact-match figures. Latency is wall-clock time around each ``fill`` call.
Programs run after all completions of a mode are made, so the sandbox does not compete with the
model for the CPU while latency is measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from code_diffusion.evaluation import sandbox
from code_diffusion.evaluation.tasks import InfillTask, exact_first_line, exact_match
from code_diffusion.measure import summary as sample_summary

LENGTH_CONTROL = "length-control"
FIXED_CANVAS = "fixed-canvas"
ORACLE_LENGTH = "oracle-length"
MODES = (LENGTH_CONTROL, FIXED_CANVAS, ORACLE_LENGTH)
MODE_LABELS = {
    LENGTH_CONTROL: "length control",
    FIXED_CANVAS: "fixed canvas",
    ORACLE_LENGTH: "oracle length",
}


@dataclass(frozen=True)
class DecodeSettings:
    """The sampling parameters every ``fill`` call of a run gets."""

    max_length: int | None = None
    """``None`` leaves the engine's default."""
    steps: int | None = None
    seed: int = 0
    sampler: Any = None
    """The ``SamplerOptions`` of every fill; ``None``: the engine's defaults."""

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": 0.0, "num_samples": 1, "seed": self.seed}
        if self.sampler is not None:
            params["sampler"] = self.sampler
        if self.max_length is not None:
            params["max_length"] = self.max_length
        if self.steps is not None:
            params["steps"] = self.steps
        return params


@dataclass
class TaskResult:
    """One task filled in one mode."""

    task_id: str
    mode: str
    completion: str
    forward_passes: int
    wall_ms: float
    engine_ms: float
    error: str = ""
    """Why the engine returned no candidate (the completion is then empty)."""
    canvas_length: int | None = None
    status: str = ""
    """Sandbox outcome: ``passed``, ``failed`` or ``timeout``; empty if not executable."""
    detail: str = ""
    exact_first_line: bool | None = None
    exact: bool | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ModeSummary:
    mode: str
    tasks: int
    executed: int = 0
    passed: int = 0
    passed_empty: int = 0
    """Passed with an empty completion (no answer): the tests did not need the hole's code."""
    timeouts: int = 0
    engine_errors: int = 0
    with_reference: int = 0
    exact_first_line: int = 0
    exact: int = 0
    forward_passes: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    max_length: int | None = None

    @property
    def pass_at_1(self) -> float | None:
        return self.passed / self.executed if self.executed else None

    @property
    def exact_first_line_rate(self) -> float | None:
        return self.exact_first_line / self.with_reference if self.with_reference else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pass_at_1"] = self.pass_at_1
        data["exact_first_line_rate"] = self.exact_first_line_rate
        data["exact_rate"] = self.exact / self.with_reference if self.with_reference else None
        return data


def _stats(values: Sequence[float]) -> dict[str, float]:
    """mean / p50 / p95 / max (the report's columns)."""
    figures = sample_summary(values)
    return {key: figures[key] for key in ("mean", "p50", "p95", "max") if key in figures}


def summarise(mode: str, results: Sequence[TaskResult],
              max_length: int | None = None) -> ModeSummary:
    summary = ModeSummary(mode=mode, tasks=len(results), max_length=max_length)
    for result in results:
        if result.status:
            summary.executed += 1
            summary.passed += result.passed
            summary.passed_empty += result.passed and not result.completion.strip()
            summary.timeouts += result.status == "timeout"
        summary.engine_errors += bool(result.error)
        if result.exact_first_line is not None:
            summary.with_reference += 1
            summary.exact_first_line += result.exact_first_line
            summary.exact += bool(result.exact)
    summary.forward_passes = _stats([r.forward_passes for r in results])
    summary.latency_ms = _stats([r.wall_ms for r in results])
    return summary


def reference_length(tokenizer, task: InfillTask) -> int | None:
    """The number of tokens of the reference middle, encoded on its own."""
    if task.middle is None or tokenizer is None:
        return None
    return max(1, len(tokenizer.encode(task.middle).ids))


def editor_buffer(task: InfillTask) -> str:
    """The buffer as an editor holds it when the hole is: for whole-line holes the user has
    opened an empty line and the cursor is on it, so the line break after the hole is already
    there; otherwise prefix and suffix meet at the cursor."""
    if task.hole in ("line", "block") and (not task.prefix or task.prefix.endswith("\n")):
        return task.prefix + "\n" + task.suffix
    return task.prefix + task.suffix


def fill_task(generator, task: InfillTask, mode: str, settings: DecodeSettings,
              canvas_length: int | None = None) -> TaskResult:
    """Ask the engine for one completion of ``task`` in ``mode``."""
    from code_diffusion.engine.errors import GenerationError

    params = settings.params()
    if mode == FIXED_CANVAS:
        params["length_control"] = False
    elif mode == ORACLE_LENGTH:
        if canvas_length is None:
            raise ValueError(f"{task.task_id}: the oracle mode needs the reference length")
        params["length_control"] = False
        params["canvas_length"] = canvas_length
        params["max_length"] = max(canvas_length, params.get("max_length", 1))
    elif mode != LENGTH_CONTROL:
        raise ValueError(f"unknown mode {mode!r}")
    passes = [0]

    def on_step(step: Any) -> None:
        passes[0] = max(passes[0], int(step.forward_passes))

    started = time.perf_counter()
    try:
        result = generator.fill(editor_buffer(task), len(task.prefix), None,
                                language=task.language, hole=task.hole, on_step=on_step,
                                **params)
    except GenerationError as exc:
        # The engine offers nothing (every candidate failed its checks): an empty completion,
        # as an editor user would get.
        wall = (time.perf_counter() - started) * 1000
        return TaskResult(task.task_id, mode, "", passes[0], wall, wall, error=str(exc),
                          canvas_length=canvas_length)
    wall = (time.perf_counter() - started) * 1000
    text = result.candidates[0].text if result.candidates else ""
    return TaskResult(task.task_id, mode, text, int(result.forward_passes), wall,
                      float(result.elapsed_ms), error="" if result.candidates else "no candidate",
                      canvas_length=canvas_length)


def score(tasks: Sequence[InfillTask], results: Sequence[TaskResult],
          timeout: float = sandbox.DEFAULT_TIMEOUT, workers: int = 2) -> None:
    """Fill in exact-match fields and, for executable tasks, run the programs (in place)."""
    runnable = []
    for task, result in zip(tasks, results, strict=True):
        if task.middle is not None:
            result.exact_first_line = exact_first_line(result.completion, task.middle)
            result.exact = exact_match(result.completion, task.middle)
        if task.executable:
            runnable.append((task, result))
    programs = [task.program(result.completion) for task, result in runnable]
    outcomes = sandbox.run_programs(programs, timeout=timeout, workers=workers)
    for (_, result), outcome in zip(runnable, outcomes, strict=True):
        result.status, result.detail = outcome.status, outcome.detail


def run_mode(generator, tasks: Sequence[InfillTask], mode: str, settings: DecodeSettings,
             tokenizer=None, progress: Callable[[str, int], Any] | None = None
             ) -> list[TaskResult]:
    """Fill every task in ``mode`` (not yet scored)."""
    results = []
    for index, task in enumerate(tasks):
        length = reference_length(tokenizer, task) if mode == ORACLE_LENGTH else None
        results.append(fill_task(generator, task, mode, settings, length))
        if progress is not None:
            progress(mode, index + 1)
    return results


def baseline_results(tasks: Sequence[InfillTask], line: str) -> list[TaskResult]:
    """Completions of the trivial baseline: ``line`` at the hole's likely indentation."""
    from code_diffusion.evaluation.heldout import indent_for_hole

    results = []
    for task in tasks:
        text = indent_for_hole(task.prefix, task.suffix) + line + "\n"
        results.append(TaskResult(task.task_id, "baseline", text, 0, 0.0, 0.0))
    return results
