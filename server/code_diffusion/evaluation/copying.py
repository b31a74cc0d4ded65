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
project.

Exact lines come late; the teacher-forced part moves first: on ``--windows`` held-out line
windows built as training builds them (``training.windows``, the model's own tokenizer, half
of them drawn among copyable lines), the mean cross-entropy of the hole's real tokens (its
``[PAD]`` left out), for copyable and other windows. Run::

    python -m code_diffusion.evaluation.copying [--model DIR] [--limit 200] [--windows 200]
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


def line_window_ce(model: Any, texts: list[str], count: int, seed: int,
                   seq_len: int = 512) -> dict[str, dict[str, float]]:
    """Mean CE (nats) of the hole's real tokens, with all its slots masked, on ``count`` line
    windows of ``texts`` (half drawn among copyable lines), split by :func:`copyable`."""
    import numpy as np
    import torch

    from code_diffusion.training import windows
    from code_diffusion.training.objective import MASK_ID, PAD_ID

    denoiser = model.denoiser
    maker = windows.tokenizer_denoiser(denoiser.tokenizer, seq_len)
    rng = np.random.default_rng(seed)
    losses: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(50 * count):
        if sum(map(len, losses.values())) >= count:
            break
        text = texts[int(rng.integers(len(texts)))]
        window = windows.context_window(maker, text, "line", rng, ladder=0, copy_share=0.5,
                                        short_canvas=0)
        if window is None or len(window.ids) > seq_len:
            continue
        ids = torch.tensor([window.ids])
        where = ids == MASK_ID
        with torch.no_grad():
            logits = denoiser.logits_at(ids, where)
        logits[:, MASK_ID] = float("-inf")
        targets = torch.tensor([t for t, s in zip(window.target, window.slots, strict=True)
                                if s == MASK_ID])
        nll = -torch.log_softmax(logits, -1).gather(1, targets[:, None])[:, 0]
        real = targets != PAD_ID
        if bool(real.any()):
            losses[window.copyable].append(float(nll[real].mean()))
    if sum(map(len, losses.values())) < count:
        raise ValueError(f"{50 * count} tries made fewer than {count} line windows of these "
                         "texts; give more or longer files")
    return {("copyable" if key else "other"): {"windows": len(values),
                                               "ce": round(sum(values) / max(1, len(values)), 3)}
            for key, values in losses.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m code_diffusion.evaluation.copying",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a model directory (default: embedded)")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--windows", type=int, default=200,
                        help="teacher-forced line windows (0: skip that part)")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error(f"--limit must be ≥ 1, got {args.limit}")
    from code_diffusion import load_model
    from code_diffusion.engine.generator import CodeGenerator

    files = heldout_files()
    tasks = copyable_tasks(files, args.limit, args.seed)
    print(f"{len(tasks)} copyable line holes of the held-out corpus files", file=sys.stderr)
    model = load_model(args.model) if args.model else load_model()
    report: dict[str, Any] = {"model": args.model or "embedded", "tasks": len(tasks),
                              "seed": args.seed}
    if args.windows:
        report["line_windows"] = line_window_ce(model, [text for _, text in files],
                                                args.windows, args.seed)
        print(f"line windows: {json.dumps(report['line_windows'])}", file=sys.stderr)
    report["rows"] = run_probe(CodeGenerator(model), tasks,
                               log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
