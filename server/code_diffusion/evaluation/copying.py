"""The copy probe: does the model write a line that stands verbatim elsewhere in its file?

On the held-out corpus files (the corpus module's hold-out rule: never trained on, never the
evaluation projects), every statement line that ``repo-single-line`` would make a task of is a
candidate hole; a hole is *copyable* when its text (stripped, at least 4 characters) occurs on
another line of the same file. A fixed-seed sample of copyable holes is filled through
:meth:`CodeGenerator.fill` with the language server's defaults, with context from the file
alone (snippets in the preamble) but **no drafts offered**, so every candidate is the model's
own; and once without context. Scores: exact match of the top candidate (first line, trailing
whitespace ignored), exact match of any of the three, edit similarity.

Context assembly finds the line for most of these holes (it is what drafts are), so this is
the ceiling of what copying can add; ``repo-single-line`` measures what it adds in a real
project. Run::

    python -m code_diffusion.evaluation.copying [--model DIR] [--limit 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

MIN_CHARS = 4


@dataclass(frozen=True)
class CopyTask:
    task_id: str
    path: str
    prefix: str
    suffix: str
    middle: str


def copyable_tasks(files: list[tuple[str, str]], limit: int, seed: int) -> list[CopyTask]:
    """A fixed-seed sample of ``limit`` copyable line holes of ``files`` ``(relpath, text)``."""
    from code_diffusion.evaluation.repo import SINGLE_LINE, file_tasks

    found = []
    for relpath, text in files:
        stripped = [line.strip() for line in text.split("\n")]
        counts: dict[str, int] = {}
        for line in stripped:
            counts[line] = counts.get(line, 0) + 1
        for task in file_tasks("heldout", relpath, text, SINGLE_LINE):
            line = task.middle.split("\n")[0].strip()
            if len(line) >= MIN_CHARS and counts.get(line, 0) >= 2:
                found.append(CopyTask(task.task_id, relpath, task.prefix, task.suffix,
                                      task.middle))
    if len(found) <= limit:
        return found
    return [found[i] for i in sorted(random.Random(seed).sample(range(len(found)), limit))]


def heldout_files() -> list[tuple[str, str]]:
    """``(source/relpath, text)`` of the held-out corpus files."""
    from code_diffusion.evaluation.heldout import corpus_files
    from code_diffusion.training import corpus

    return [(f"{f.source}/{f.relpath}", corpus.read_text(f))
            for f in corpus_files() if f.split == "valid"]


def run_probe(generator: Any, tasks: list[CopyTask], log=print) -> dict[str, dict[str, Any]]:
    """Both rows (``context``: the file's snippets, no drafts; ``model only``) over ``tasks``."""
    from code_diffusion.engine.context import ContextOptions
    from code_diffusion.evaluation.context import SERVER_DEFAULTS, compared, summarise, task_scores

    rows: dict[str, dict[str, Any]] = {}
    for label, context in (("context, no drafts", ContextOptions(offered_drafts=0)),
                           ("model only", None)):
        scores, any_right, began = [], 0, time.perf_counter()
        for task in tasks:
            result = generator.fill(task.prefix + task.suffix, len(task.prefix), hole="line",
                                    path=task.path, context=context, require_passing=False,
                                    **SERVER_DEFAULTS)
            top = next((c.text for c in result.candidates if not c.problems), "")
            scores.append(task_scores(top, task.middle, True))
            want = compared(task.middle, True)
            any_right += any(compared(c.text, True) == want for c in result.candidates)
        rows[label] = {**summarise(scores),
                       "any_of_three": round(100 * any_right / max(1, len(tasks)), 1),
                       "seconds": round(time.perf_counter() - began, 1)}
        log(f"{label}: {json.dumps(rows[label])}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m code_diffusion.evaluation.copying",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a model directory (default: embedded)")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error(f"--limit must be ≥ 1, got {args.limit}")
    from code_diffusion import load_model
    from code_diffusion.engine.generator import CodeGenerator

    tasks = copyable_tasks(heldout_files(), args.limit, args.seed)
    print(f"{len(tasks)} copyable line holes of the held-out corpus files", file=sys.stderr)
    generator = CodeGenerator(load_model(args.model) if args.model else load_model())
    rows = run_probe(generator, tasks, log=lambda m: print(m, file=sys.stderr))
    report = {"model": args.model or "embedded", "tasks": len(tasks), "seed": args.seed,
              "rows": rows}
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
