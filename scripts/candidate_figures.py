"""How the candidates of a line differ, and whether any of them is right.

Fills HumanEval single-line holes or ``repo-single-line`` holes with several candidates per
request (the completion menu's request: greedy, three candidates, rewards on) under several
sampler settings, and reports per setting:

* **model texts**: different texts the model's rows gave per request (after the cut at the
  hole's end, passing the checks or not), mean and the share of requests where every row gave
  the same text;
* **distinct**: candidates the editor shows per request (the ones that pass the checks, each
  text once), mean and the share of requests that show exactly one;
* **top-1**: the first candidate is right (HumanEval: its tests pass; repo: the line equals the
  reference);
* **any**: one of the shown candidates is right.

    PYTHONPATH=server python3 scripts/candidate_figures.py --benchmark humaneval-single-line \\
        --limit 100 --seed 1 --setting greedy: --setting distinct:distinct_rows=true

A setting is ``label:field=value,...`` over ``SamplerOptions`` fields (numbers and true/false)
and ``alternative_cost`` (``engine.rewards.ALTERNATIVE_COST``: 0 lets the candidates of
``distinct_rows`` compete with the greedy one on their score).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def parse_setting(text: str) -> tuple[str, dict[str, Any]]:
    label, _, fields = text.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, fields.split(",")):
        name, _, value = item.partition("=")
        options[name] = json.loads(value)
    return label, options


def humaneval_rows(generator, sampler, limit: int, seed: int, samples: int,
                   context: bool) -> list[dict[str, Any]]:
    from code_diffusion.evaluation import sandbox
    from code_diffusion.evaluation import tasks as task_sets
    from code_diffusion.evaluation.infill import editor_buffer

    tasks = task_sets.subsample(task_sets.benchmark_tasks("humaneval-single-line"), limit, seed)
    shown: list[list[str]] = []
    rows: list[int] = []
    for task in tasks:
        result = generator.fill(editor_buffer(task), len(task.prefix), None,
                                language=task.language, hole=task.hole, sampler=sampler,
                                temperature=0.0, num_samples=samples, max_length=32, seed=seed,
                                require_passing=False)
        shown.append([c.text for c in result.passing()])
        rows.append(len(result.candidates))
    programs = sorted({task.program(text) for task, texts in zip(tasks, shown, strict=True)
                       for text in texts})
    outcomes = dict(zip(programs, sandbox.run_programs(programs, workers=2), strict=True))
    return [{"task_id": task.task_id, "shown": texts, "texts": count,
             "right": [outcomes[task.program(text)].passed for text in texts]}
            for task, texts, count in zip(tasks, shown, rows, strict=True)]


def repo_rows(generator, sampler, limit: int, seed: int, samples: int,
              context: bool) -> list[dict[str, Any]]:
    from code_diffusion.engine.context import ContextOptions
    from code_diffusion.evaluation import context as real

    tasks, indexes = real.repo_tasks("repo-single-line", limit, seed)
    params = {**real.SERVER_DEFAULTS, "num_samples": samples}
    rows = []
    for task in tasks:
        result = generator.fill(task.prefix + task.suffix, len(task.prefix),
                                language=task.language, hole=task.hole, path=task.path,
                                workspace=indexes.get(task.workspace),
                                context=ContextOptions() if context else None,
                                require_passing=False, sampler=sampler, **params)
        texts = [c.text for c in result.passing()]
        rows.append({"task_id": task.task_id, "shown": texts,
                     "texts": len([c for c in result.candidates if c.origin == "denoised"]),
                     "right": [bool(real.task_scores(t, task.middle, True)["exact"])
                               for t in texts]})
    return rows


def latency(generator, settings: dict[str, Any], benchmark: str, limit: int, seed: int,
            samples: int) -> dict[str, dict[str, float]]:
    """Wall time of each fill, the settings interleaved task by task (so a busy machine slows
    them alike); the model alone on the local window, as the editor's line request."""
    from code_diffusion.engine import rewards
    from code_diffusion.engine.options import SamplerOptions
    from code_diffusion.evaluation import context as real
    from code_diffusion.evaluation import tasks as task_sets
    from code_diffusion.evaluation.infill import editor_buffer

    if benchmark == "humaneval-single-line":
        tasks = [(editor_buffer(t), len(t.prefix)) for t in task_sets.subsample(
            task_sets.benchmark_tasks(benchmark), limit, seed)]
    else:
        tasks = [(t.prefix + t.suffix, len(t.prefix)) for t in real.repo_tasks(
            benchmark, limit, seed)[0]]
    options = {label: SamplerOptions(**{k: v for k, v in fields.items()
                                        if k != "alternative_cost"})
               for label, fields in settings.items()}
    times: dict[str, list[float]] = {label: [] for label in options}
    for text, cursor in tasks:
        for label, sampler in options.items():
            rewards.ALTERNATIVE_COST = settings[label].get("alternative_cost", 20.0)
            began = time.perf_counter()
            generator.fill(text, cursor, hole="line", sampler=sampler, require_passing=False,
                           **{**real.SERVER_DEFAULTS, "num_samples": samples})
            times[label].append((time.perf_counter() - began) * 1000)
    return {label: {"p50_ms": round(sorted(v)[len(v) // 2], 1),
                    "mean_ms": round(sum(v) / len(v), 1)} for label, v in times.items()}


def summary(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    count = max(1, len(rows))
    return {"tasks": len(rows),
            "model_texts_mean": round(sum(r["texts"] for r in rows) / count, 2),
            "model_one_text_pct": round(100 * sum(r["texts"] == 1 for r in rows) / count, 1),
            "distinct_mean": round(sum(len(r["shown"]) for r in rows) / count, 2),
            "one_shown_pct": round(100 * sum(len(r["shown"]) == 1 for r in rows) / count, 1),
            "none_shown_pct": round(100 * sum(not r["shown"] for r in rows) / count, 1),
            "top1_pct": round(100 * sum(bool(r["right"][:1] and r["right"][0])
                                        for r in rows) / count, 1),
            "any_pct": round(100 * sum(any(r["right"]) for r in rows) / count, 1),
            "seconds": round(seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", choices=("humaneval-single-line", "repo-single-line"),
                        required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--context", action="store_true", help="repo: with context")
    parser.add_argument("--setting", action="append", required=True)
    parser.add_argument("--details", help="write every row as JSON lines")
    parser.add_argument("--latency", action="store_true",
                        help="only time the fills (the server's line request, the model alone), "
                             "the settings interleaved task by task")
    args = parser.parse_args()

    from code_diffusion.engine import rewards
    from code_diffusion.engine.generator import CodeGenerator
    from code_diffusion.engine.loading import load_model
    from code_diffusion.engine.options import SamplerOptions

    cost = rewards.ALTERNATIVE_COST

    generator = CodeGenerator(load_model())
    if args.latency:
        settings = dict(parse_setting(text) for text in args.setting)
        print(json.dumps(latency(generator, settings, args.benchmark, args.limit, args.seed,
                                 args.samples), indent=1))
        return 0
    run = humaneval_rows if args.benchmark == "humaneval-single-line" else repo_rows
    out, details = {}, []
    for text in args.setting:
        label, fields = parse_setting(text)
        rewards.ALTERNATIVE_COST = fields.pop("alternative_cost", cost)
        began = time.perf_counter()
        rows = run(generator, SamplerOptions(**fields), args.limit, args.seed, args.samples,
                   args.context)
        out[label] = summary(rows, time.perf_counter() - began)
        details += [{"setting": label, **row} for row in rows]
        print(label, json.dumps(out[label]), file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": args.benchmark, "seed": args.seed, "limit": args.limit,
                      "context": args.context, "samples": args.samples, "settings": out},
                     indent=1))
    if args.details:
        with open(args.details, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
