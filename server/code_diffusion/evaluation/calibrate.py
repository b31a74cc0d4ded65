"""Fit the chance estimates of ``engine/chance.py`` on the tuning seeds.

``python -m code_diffusion.evaluation.calibrate [--model DIR] [--write]`` fills the
``repo-single-line`` and ``repo-rest-of-line`` tasks of seeds 1 and 2 (never seed 0, the
reported split) as ghost text is filled (the language server's defaults, one candidate,
context on), and fits, for the top candidate of each task, a logistic regression of "it is
right" on its evidence (drafts: ``log(1 + retrieval)``; denoised: mean token probability),
with a term for a started line. It prints both calibrations and, for a few thresholds, how
often ghost text would be shown and how often it would be right. ``--write`` stores the
denoised calibration in the model's ``code_diffusion.json`` (an embedded checkpoint); the
drafts' constants are the engine's (``DRAFTS``) and are updated by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from code_diffusion.engine.chance import DRAFT_ORIGINS, Calibration, typed_before
from code_diffusion.engine.context import ContextOptions
from code_diffusion.evaluation.context import (
    SERVER_DEFAULTS,
    ContextEvaluation,
    repo_tasks,
    task_scores,
)

BENCHMARKS = ("repo-single-line", "repo-rest-of-line")
TUNING_SEEDS = (1, 2)
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
L2 = 0.1
"""Ridge penalty of the fit (on every coefficient): keeps a slope finite where one class is
empty (no whole line the embedded model wrote alone was right on the tuning seeds)."""


def observations(generator, benchmarks: Sequence[str] = BENCHMARKS,
                 seeds: Sequence[int] = TUNING_SEEDS, limit: int = 400
                 ) -> list[tuple[str, bool, float, bool]]:
    """``(kind, typed, evidence, right)`` of each task's top passing candidate, where kind is
    ``draft`` or ``denoised``."""
    out = []
    for benchmark in benchmarks:
        for seed in seeds:
            tasks, indexes = repo_tasks(benchmark, limit, seed)
            evaluation = ContextEvaluation(generator, indexes,
                                           params={**SERVER_DEFAULTS, "num_samples": 1})
            for task in tasks:
                _, result = evaluation.fill(generator, task, ContextOptions())
                top = next((c for c in result.candidates if not c.problems), None)
                if top is None:
                    continue
                right = bool(task_scores(top.text, task.middle or "", True)["exact"])
                typed = typed_before(task.prefix, len(task.prefix))
                if top.origin in DRAFT_ORIGINS:
                    evidence = math.log1p(max(0.0, top.rewards.get("retrieval", 0.0)))
                    out.append(("draft", typed, evidence, right))
                elif top.confidence:
                    out.append(("denoised", typed, top.mean_confidence, right))
    return out


def fit(rows: Sequence[tuple[bool, float, bool]], l2: float = L2) -> Calibration:
    """Newton's method on the ridge-penalised logistic log-likelihood."""
    x = np.array([[1.0, float(t), e, float(t) * e] for t, e, _ in rows])
    y = np.array([float(r) for _, _, r in rows])
    w = np.zeros(4)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + l2 * w
        hessian = (x.T * (p * (1 - p))) @ x + l2 * np.eye(4)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return Calibration(*(round(float(v), 3) for v in w))


def shown_table(found: Sequence[tuple[str, bool, float, bool]],
                fitted: dict[str, Calibration]) -> list[str]:
    lines = []
    for typed in (False, True):
        rows = [r for r in found if r[1] == typed]
        right = sum(r[3] for r in rows)
        what = "rest of a started line" if typed else "whole line"
        for threshold in THRESHOLDS:
            shown = [r for r in rows if fitted[r[0]].chance(r[2], typed) >= threshold]
            hits = sum(r[3] for r in shown)
            lines.append(f"{what}, from {threshold:g}: shown {len(shown)}/{len(rows)}, right "
                         f"{hits}/{right}, right when shown "
                         f"{100 * hits / max(1, len(shown)):.0f} %")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    from code_diffusion.engine.adapters.registry import EMBEDDED_METADATA
    from code_diffusion.engine.generator import CodeGenerator
    from code_diffusion.engine.loading import load_model

    parser = argparse.ArgumentParser(prog="python -m code_diffusion.evaluation.calibrate")
    parser.add_argument("--model", type=Path, help="model directory (default: the embedded)")
    parser.add_argument("--limit", type=int, default=400, help="tasks per benchmark and seed")
    parser.add_argument("--write", action="store_true",
                        help="store the denoised calibration in the model's "
                             f"{EMBEDDED_METADATA}")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    found = observations(CodeGenerator(model), limit=args.limit)
    fitted = {kind: fit([r[1:] for r in found if r[0] == kind])
              for kind in ("draft", "denoised")}
    print(json.dumps({kind: c.to_json() for kind, c in fitted.items()}))
    print("\n".join(shown_table(found, fitted)))
    if args.write:
        directory = Path(model.info.path or "")
        meta_path = directory / EMBEDDED_METADATA
        if not meta_path.is_file():
            parser.error(f"{directory}: no {EMBEDDED_METADATA}; --write needs an embedded "
                         "checkpoint")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["calibration"] = fitted["denoised"].to_json()
        meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        print(f"wrote the denoised calibration to {meta_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
