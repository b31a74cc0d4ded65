"""Latency of a line with context against today's default (the model alone), same requests.

``python -m code_diffusion.bench.context [--requests N] [--seed S]`` fills N single-line holes of
the real-code tasks (``repo-single-line``, whole files, the project as the workspace) with the
language server's defaults, once without context and once with ``ContextOptions()``, alternating
per request so both see the same machine load, after one warm-up fill of each. It prints the
p50 and p95 wall-clock milliseconds around ``CodeGenerator.fill`` and their difference.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from code_diffusion.measure import summary as stats


def measure(requests: int, seed: int) -> dict[str, Any]:
    from code_diffusion.engine.context import ContextOptions
    from code_diffusion.engine.generator import CodeGenerator
    from code_diffusion.engine.loading import load_model
    from code_diffusion.evaluation.context import ContextEvaluation, repo_tasks

    tasks, indexes = repo_tasks("repo-single-line", requests + 1, seed)
    generator = CodeGenerator(load_model())
    evaluation = ContextEvaluation(generator, indexes)
    settings = {"default (no context)": None, "line with context": ContextOptions()}
    times: dict[str, list[float]] = {name: [] for name in settings}
    for number, task in enumerate(tasks):
        for name, context in settings.items():
            began = time.perf_counter()
            evaluation.fill(generator, task, context)
            if number > 0:  # the first request of each setting warms up
                times[name].append((time.perf_counter() - began) * 1000)
    figures = {name: {key: round(value, 1) for key, value in stats(values).items()
                      if key in ("p50", "p95", "mean")} for name, values in times.items()}
    figures["p50 difference (ms)"] = round(figures["line with context"]["p50"]
                                           - figures["default (no context)"]["p50"], 1)
    return {"requests": len(tasks) - 1, "seed": seed, **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m code_diffusion.bench.context")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.requests, args.seed), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
