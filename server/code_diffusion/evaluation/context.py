"""The real-code evaluation with context: whole files, a workspace, drafts and the model.

Every row fills the same tasks through :meth:`CodeGenerator.fill` with the language server's
defaults (greedy, 8 steps, 48 tokens, 3 candidates, rewards on) and the whole file around the
hole; only the context options (or the model) change. Scores of the top candidate:

* **exact**: the first line (single-line) or every line (multi-line) equals the reference's,
  trailing whitespace ignored;
* **similarity**: ``difflib`` ratio of the same text to the reference (0–100);
* **accepted**: characters a user keeps: the suggestion's, when the reference starts with it
  (a right head of the line counts, a wrong character anywhere counts nothing); summed over the
  tasks and given as a share of the references' characters.

``drafts only`` runs the generator over :class:`NoModel` (drafts ranked by their evidence and
the syntax check), and ``right among drafts`` is how often any draft found is right (the upper
bound of ranking drafts).
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from code_diffusion.engine.context import ContextOptions, WorkspaceIndex, assemble_context
from code_diffusion.engine.interface import ModelAdapter, ModelInfo, SampleStep
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.rewards import Hole, trim
from code_diffusion.engine.types import Candidate, GenerationRequest

SERVER_DEFAULTS = {"temperature": 0.0, "steps": 8, "max_length": 48, "num_samples": 3,
                   "use_rewards": True}
"""``codeDiffusion.*`` defaults of the language server (``lsp/config.py``)."""


@dataclass(frozen=True)
class ContextTask:
    """One hole in one file of a workspace (``workspace`` keys the evaluation's indexes)."""

    task_id: str
    prefix: str
    suffix: str
    middle: str | None
    language: str = "python"
    path: str | None = None
    hole: str = "line"
    workspace: str = ""
    specification: str = ""
    """The description a code action hands the generator (a comment or a docstring)."""

    @property
    def single_line(self) -> bool:
        return self.hole == "line"


class NoModel(ModelAdapter):
    """An adapter without a model: it writes nothing, so only drafts can be offered."""

    def __init__(self) -> None:
        self.info = ModelInfo(name="no model", family="none")

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        empty = tuple(Candidate("") for _ in range(request.num_samples))
        yield SampleStep(step=1, texts=("",) * len(empty), masked=(0,) * len(empty),
                         forward_passes=0, candidates=empty)


def compared(text: str, single_line: bool) -> str:
    """The part of a completion or reference that is scored, trailing whitespace off."""
    lines = [line.rstrip() for line in text.rstrip().split("\n")]
    return lines[0] if single_line else "\n".join(lines)


def task_scores(completion: str, middle: str, single_line: bool) -> dict[str, float]:
    """Exact (0/1), similarity (0–100) and accepted characters of one completion."""
    got, want = compared(completion, single_line), compared(middle, single_line)
    accepted = len(got.strip()) if got.strip() and want.startswith(got) else 0
    return {"exact": float(got == want),
            "similarity": 100 * difflib.SequenceMatcher(None, got, want).ratio(),
            "accepted": float(accepted), "reference_chars": float(len(want.strip())),
            "answered": float(bool(got.strip()))}


def summarise(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    count = max(1, len(rows))
    reference = max(1.0, sum(r["reference_chars"] for r in rows))
    return {"tasks": len(rows),
            "exact": round(100 * sum(r["exact"] for r in rows) / count, 1),
            "similarity": round(sum(r["similarity"] for r in rows) / count, 1),
            "accepted_chars": int(sum(r["accepted"] for r in rows)),
            "accepted_share": round(100 * sum(r["accepted"] for r in rows) / reference, 1),
            "answered": round(100 * sum(r["answered"] for r in rows) / count, 1),
            "right_when_answered": round(100 * sum(r["exact"] for r in rows)
                                         / max(1.0, sum(r["answered"] for r in rows)), 1)}


@dataclass
class ContextEvaluation:
    """Runs rows (a generator and context options each) over tasks with their workspaces."""

    generator: Any
    indexes: Mapping[str, WorkspaceIndex]
    params: Mapping[str, Any] = field(default_factory=lambda: dict(SERVER_DEFAULTS))
    log: Callable[[str], None] = lambda message: None
    details: list[dict[str, Any]] = field(default_factory=list)

    def fill(self, generator: Any, task: ContextTask, context: ContextOptions | None,
             **overrides: Any) -> tuple[str, Any]:
        """The top candidate's text ("" when none passed) and the fill's result
        (``overrides``: request fields other than the evaluation's ``params``)."""
        text, cursor = task.prefix + task.suffix, len(task.prefix)
        result = generator.fill(text, cursor, language=task.language, hole=task.hole,
                                specification=task.specification, path=task.path,
                                workspace=self.indexes.get(task.workspace),
                                context=context, require_passing=False,
                                **{**self.params, **overrides})
        top = next((c for c in result.candidates if not c.problems), None)
        return ("" if top is None else top.text), result

    def run_row(self, label: str, tasks: Sequence[ContextTask],
                context: ContextOptions | None, generator: Any = None) -> dict[str, Any]:
        generator = generator or self.generator
        scores, latency = [], []
        for number, task in enumerate(tasks, 1):
            began = time.perf_counter()
            completion, result = self.fill(generator, task, context)
            latency.append((time.perf_counter() - began) * 1000)
            if task.middle is not None:
                scores.append(task_scores(completion, task.middle, task.single_line))
            self.details.append({
                "row": label, "task_id": task.task_id, "completion": completion,
                "exact": scores[-1]["exact"] if task.middle is not None else None,
                "candidates": [_candidate_json(c) for c in result.candidates]})
            if number % 50 == 0:
                self.log(f"{label}: {number}/{len(tasks)}")
        latency.sort()
        return {**summarise(scores),
                "latency_ms_p50": round(latency[len(latency) // 2], 1) if latency else None}

    def ghost_rows(self, tasks: Sequence[ContextTask], context: ContextOptions,
                   min_chance: float) -> dict[str, dict[str, Any]]:
        """Ghost text as the language server offers it: one candidate generated, the top one
        shown (first row) and shown only from ``min_chance`` up (second row: a task whose top
        candidate is held back counts as unanswered)."""
        every, gated, latency = [], [], []
        for task in tasks:
            began = time.perf_counter()
            completion, result = self.fill(self.generator, task, context, num_samples=1)
            latency.append((time.perf_counter() - began) * 1000)
            top = next((c for c in result.candidates if not c.problems), None)
            shown = top is not None and (top.chance is None or top.chance >= min_chance)
            if task.middle is not None:
                every.append(task_scores(completion, task.middle, task.single_line))
                gated.append(task_scores(completion if shown else "", task.middle,
                                         task.single_line))
        latency.sort()
        p50 = round(latency[len(latency) // 2], 1) if latency else None
        return {"ghost text: the top candidate (1 generated)":
                {**summarise(every), "latency_ms_p50": p50},
                f"ghost text: shown from chance {min_chance:g} (the default)":
                {**summarise(gated), "latency_ms_p50": p50}}

    def right_among_drafts(self, tasks: Sequence[ContextTask],
                           context: ContextOptions) -> dict[str, Any]:
        """How often any draft context assembly finds is right (no model, no ranking)."""
        right = 0
        for task in tasks:
            text, cursor = task.prefix + task.suffix, len(task.prefix)
            found = assemble_context(text, cursor, cursor, path=task.path,
                                     language=task.language,
                                     index=self.indexes.get(task.workspace), options=context,
                                     hole="line" if task.single_line else "block")
            hole = Hole(text, cursor, cursor, task.hole, task.language)
            right += any(task_scores(trim(d.text, hole), task.middle or "",
                                     task.single_line)["exact"] for d in found.drafts)
        return {"tasks": len(tasks), "exact": round(100 * right / max(1, len(tasks)), 1)}


def _candidate_json(candidate: Candidate) -> dict[str, Any]:
    return {"text": candidate.text, "origin": candidate.origin, "source": candidate.source,
            "score": round(candidate.score, 4), "problems": list(candidate.problems),
            "rewards": {k: round(v, 5) for k, v in candidate.rewards.items()},
            "forward_passes": candidate.forward_passes}


def rows(default: ContextOptions) -> dict[str, ContextOptions | None]:
    """The model rows of the table: today's behaviour, the default and one part changed each."""
    return {
        "model only (no context)": None,
        "model + context (default)": default,
        "  without drafts": replace(default, offered_drafts=0),
        "  without snippets": replace(default, snippet_budget=0),
        "  without the workspace": replace(default, workspace=False),
        "  drafts copied without renaming": replace(default, rename_lines=0),
        "  cache prior 0.3": replace(default, prior_weight=0.3),
        "  model edits the best draft": replace(default, edit_drafts=True),
        "  model judges the drafts (weight 0.5)": replace(default, judge_weight=0.5),
        "  lines cut at the confidence cliff": replace(default, cliff=True),
    }


def repo_tasks(benchmark: str, limit: int | None, seed: int
               ) -> tuple[list[ContextTask], dict[str, WorkspaceIndex]]:
    """The real-code tasks and one index per project (every file of the project)."""
    from code_diffusion.evaluation.repo import build_tasks, load_projects

    projects = load_projects()
    tasks = [ContextTask(t.task_id, t.prefix, t.suffix, t.middle, t.language, t.path, t.hole,
                         t.project, t.specification)
             for t in build_tasks(projects, benchmark, limit, seed)]
    return tasks, {name: _index(files) for name, files in projects.items()}


def file_tasks(path: Path, workspace: Path | None) -> tuple[list[ContextTask],
                                                            dict[str, WorkspaceIndex]]:
    """Tasks of a JSONL file (``task_id``, ``prefix``, ``suffix``, optional ``middle``,
    ``language``, ``path``, ``hole``, ``specification``) and the index of ``workspace``
    without the tasks' own files (never read: a task's text is its prefix and suffix)."""
    from code_diffusion.evaluation.tasks import read_task_file
    from code_diffusion.evaluation.workspace import load_workspace

    records = [json.loads(line) for line in Path(path).read_text("utf-8").splitlines()
               if line.strip()]
    tasks = []
    for record, task in zip(records, read_task_file(path), strict=True):
        own = record.get("path")
        if own is not None and not isinstance(own, str):
            raise ValueError(f"{path}: task {task.task_id}: 'path' must be a string relative "
                             "to the workspace folder")
        hole = record.get("hole") or ("line" if "\n" not in (task.middle or "") else "block")
        spec = record.get("specification") or ""
        if not isinstance(spec, str):
            raise ValueError(f"{path}: task {task.task_id}: 'specification' must be a string "
                             "(the comment or docstring the code is written from)")
        tasks.append(ContextTask(task.task_id, task.prefix, task.suffix, task.middle,
                                 task.language, own, hole, "workspace", spec))
    if workspace is None:
        return tasks, {}
    exclude = {t.path for t in tasks if t.path}
    return tasks, {"workspace": _index(load_workspace(workspace, exclude=exclude))}


def _index(files: Mapping[str, str]) -> WorkspaceIndex:
    index = WorkspaceIndex()
    for name, text in files.items():
        index.update(name, text)
    index.compact()
    return index
