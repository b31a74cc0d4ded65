"""The benchmark's section of ``docs/benchmarks.md``: tables, plots and what they mean.

Only the text between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` is rewritten; the
rest of the file belongs to other commands. A missing file is created with both marker pairs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SKELETON = """# Benchmarks

## Quality (`code-diffusion eval`)

<!-- eval:begin -->
<!-- eval:end -->

## Speed (`code-diffusion bench`)

<!-- bench:begin -->
<!-- bench:end -->
"""


def replace_section(path: Path, body: str) -> None:
    """Write ``body`` between the bench markers of ``path`` (creating the file if needed)."""
    text = path.read_text(encoding="utf-8") if path.exists() else SKELETON
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + "\n\n## Speed (`code-diffusion bench`)\n\n" + \
            f"{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{BEGIN}\n{body.strip()}\n{END}{tail}", encoding="utf-8")


def _n(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _quality(value: Any, metric: str) -> str:
    return _n(value, 3) if metric == "edit similarity" else _pct(value)


def render(report: dict[str, Any], command: str, images: dict[str, Path], docs: Path) -> str:
    m, model = report["machine"], report["model"]
    lines = [
        f"Measured {report['date']} on {m['cpu']} ({m['cores']} cores, torch {m['torch']}, "
        f"forward passes on {model.get('pass_threads') or m['torch_threads']} thread(s), "
        f"avx512_bf16: {'yes' if m['avx512_bf16'] else 'no'}; "
        f"load average at the start {', '.join(map(str, m['load_average']))}), model "
        f"`{model['name']}` ({model.get('num_parameters') or '?'} parameters, "
        f"{model['precision']}, window {model.get('max_context')} tokens, training steps "
        f"{(model.get('training') or {}).get('steps', '?')}). The run took "
        f"{report['bench_seconds']:.0f} s.",
        "", "```sh", command, "```", "",
        "Absolute times on a shared 2-core machine are noisy; the acceptance figures are the "
        "ratios and counts below, all from this one run. Every fill is greedy (temperature 0).",
        "",
    ]
    lines += _targets(report)
    lines += _server_section(report)
    lines += _side_by_side(report)
    lines += _scaling(report)
    lines += _pass_costs(report)
    lines += _profiles(report)
    lines += _images(images, docs)
    lines += _meaning()
    return "\n".join(lines)


def _check(rows: list[str], target: str, where: str, value: Any, limit: float,
           at_most: bool, unit: str = "") -> None:
    if value is None:
        rows.append(f"| {target} | {where} | – | not measured |")
        return
    met = value <= limit if at_most else value >= limit
    if met:
        verdict = "met"
    elif at_most:
        verdict = f"missed: {value / limit:.2f}× the limit"
    else:
        verdict = f"missed: {value / limit:.0%} of the target"
    rows.append(f"| {target} | {where} | {_n(float(value), 2)}{unit} | {verdict} |")


def _targets(report: dict[str, Any]) -> list[str]:
    """Each target of the benchmark's brief against this run's figures."""
    rows = ["### Against the targets", "", "| target | where | measured | verdict |",
            "|---|---|---|---|"]
    lsp = report.get("lsp") or {}
    line, block = lsp.get("line", {}).get("lsp", {}), lsp.get("block", {}).get("lsp", {})
    _check(rows, "inline line through the server, p50 ≤ 50 ms", "line", line.get("p50"), 50,
           True, " ms")
    _check(rows, "inline line through the server, p95 ≤ 120 ms", "line", line.get("p95"), 120,
           True, " ms")
    _check(rows, "multi-line (≤ 64 tokens) through the server, p50 ≤ 150 ms", "block",
           block.get("p50"), 150, True, " ms")
    for name, workload in report["workloads"].items():
        ship = workload["samplers"].get("default", {})
        ratio = report["ratios"][name]
        metric = workload["quality_metric"]
        _check(rows, "≥ 3 committed tokens per forward pass (shipped default)", name,
               ship.get("tokens_per_forward"), 3, False)
        _check(rows, "(a)/(d) forward passes ≥ 5×", name, ratio["forward_passes"], 5, False, "×")
        _check(rows, "(a)/(d) wall time (p50) ≥ 4×", name, ratio["wall_time_p50"], 4, False, "×")
        gap = ratio["quality_default_minus_reference"]
        if gap is not None:
            shown = f"{gap:+.3f}" if metric == "edit similarity" else f"{100 * gap:+.1f} points"
            good = gap >= (-0.01 if metric != "edit similarity" else 0)
            rows.append(f"| quality of (d) equal to or better than (a) | {name} | {shown} "
                        f"({metric}) | {'met' if good else 'missed'} |")
    for name, row in lsp.items():
        _check(rows, "server round trip ≤ 1.05 × the direct call (p50)", name,
               row.get("lsp_over_direct"), 1.05, True, "×")
    _check(rows, "`initialize` ≤ 1.5 × a bare pygls server", "cold start",
           report.get("initialize_over_bare"), 1.5, True, "×")
    _check(rows, "first completion ≤ 2 s after start", "cold start",
           report.get("first_completion_ms"), 2000, True, " ms")
    return [*rows, ""]


def _server_section(report: dict[str, Any]) -> list[str]:
    if "lsp" not in report:
        return []
    out = ["### Through the language server", "",
           "| workload | method | requests | direct min / p50 / p95 (ms) | "
           "server min / p50 / p95 (ms) | server / direct (p50) | empty answers |",
           "|---|---|---|---|---|---|---|"]
    for name, row in report["lsp"].items():
        d, s = row["direct"], row["lsp"]
        out.append(f"| {name} | {row['method']} | {row['requests']} | "
                   f"{_n(d.get('min'))} / {_n(d.get('p50'))} / {_n(d.get('p95'))} | "
                   f"{_n(s.get('min'))} / {_n(s.get('p50'))} / {_n(s.get('p95'))} | "
                   f"{_n(row['lsp_over_direct'], 3)} | {row['empty_answers']} |")
    rss = report.get("peak_rss_mb", {})
    typing = report.get("type_through")
    if typing:
        first, typed = typing["first"], typing["typed"]
        out += ["", f"- Typing into the suggestion ({typing['requests']} line requests): after "
                "an inline completion the client types the first character of the top "
                "suggestion and asks again. The first request p50 "
                f"{_n(first.get('p50'))} ms; the request after typing min / p50 / p95 "
                f"**{_n(typed.get('min'))} / {_n(typed.get('p50'))} / {_n(typed.get('p95'))} "
                f"ms**; answered without the model {typing['served_without_model']} times, "
                f"by the model {typing['model_runs']} times (first requests included); the "
                f"answer continued the suggestion {typing['continued_the_suggestion']} times."]
    out += ["",
            f"- Cold start (median of {len(report.get('cold_starts', []))}): process start → "
            f"`initialize` answered **{_n(report['initialize_ms'])} ms** (a bare pygls server "
            f"started the same way: {_n(report['bare_initialize_ms'])} ms, ratio "
            f"{_n(report['initialize_over_bare'], 2)}); → first completion answered "
            f"**{_n(report['first_completion_ms'])} ms**.",
            f"- Peak RSS: server {_n(rss.get('server'))} MiB after the run above; benchmark "
            f"process {_n(rss.get('bench_process'))} MiB.", ""]
    return out


def _side_by_side(report: dict[str, Any]) -> list[str]:
    out = ["### Samplers side by side (same requests, same run)", ""]
    for name, workload in report["workloads"].items():
        metric = workload["quality_metric"]
        out += [f"**{name}**: {workload['description']}; {workload['requests']} requests; "
                f"quality = {metric}.", "",
                "| sampler | min / p50 / p95 (ms) | forward passes (mean, p50 / p95) | "
                "tokens / pass | quality | empty |",
                "|---|---|---|---|---|---|"]
        for row in workload["samplers"].values():
            fp = row.get("forward_passes_stats") or {}
            out.append(f"| {row['label']} | {_n(row['min_ms'])} / {_n(row['p50_ms'])} / "
                       f"{_n(row['p95_ms'])} | {_n(row['forward_passes'])} "
                       f"({_n(fp.get('p50'))} / {_n(fp.get('p95'))}) | "
                       f"{_n(row['tokens_per_forward'], 2)} | "
                       f"{_quality(row['quality'], metric)} | {row['empty']} |")
        ratio = report["ratios"][name]
        gap = ratio["quality_default_minus_reference"]
        gap_text = ("–" if gap is None else
                    f"{gap:+.3f}" if metric == "edit similarity" else f"{100 * gap:+.1f} points")
        out += ["", f"(a) / (d): forward passes **{_n(ratio['forward_passes'], 2)}×**, wall "
                f"time p50 **{_n(ratio['wall_time_p50'], 2)}×** (mean "
                f"{_n(ratio['wall_time_mean'], 2)}×); quality (d) − (a): {gap_text}.", ""]
    return out


def _scaling(report: dict[str, Any]) -> list[str]:
    scale = report.get("scaling") or {}
    out = []
    if scale.get("completion_length"):
        out += ["### Latency against completion length (fixed canvas, all slots real tokens)",
                "", "One candidate per request for both samplers (the shipped default sampler "
                "with `num_samples=1`, and the reference).", "",
                "| tokens | default p50 (ms) | default passes | reference p50 (ms) | "
                "reference passes |", "|---|---|---|---|---|"]
        for row in scale["completion_length"]:
            d, r = row["default"], row["reference"]
            out.append(f"| {row['tokens']} | {_n(d['p50_ms'])} | {_n(d['forward_passes'])} | "
                       f"{_n(r['p50_ms'])} | {_n(r['forward_passes'])} |")
        out.append("")
    if scale.get("context"):
        out += ["### Latency against context size", "",
                f"The model's window is {scale.get('max_context')} tokens: the canvas keeps "
                "the hole and the nearest context and cuts the rest, so a longer prefix does "
                "not reach the model. *window* is what the model actually saw; *one uncut "
                "pass* is the time a single forward pass over the whole prefix would take "
                "(timing only).", "",
                "| prefix tokens | requests | p50 / p95 (ms) | passes | window (tokens) | "
                "one uncut pass (ms) |", "|---|---|---|---|---|---|"]
        for row in scale["context"]:
            out.append(f"| {row['prefix_tokens']} | {row['requests']} | {_n(row['p50_ms'])} / "
                       f"{_n(row['p95_ms'])} | {_n(row['forward_passes'])} | "
                       f"{_n(row['window_tokens'])} | {_n(row['uncut_forward_ms'])} |")
        out.append("")
    return out


def _pass_costs(report: dict[str, Any]) -> list[str]:
    costs = report.get("pass_costs")
    if not costs:
        return []
    threads = sorted({k for row in costs["passes"] for k in row if k.startswith("threads_")},
                     key=lambda k: int(k.split("_")[1]))
    head = " | ".join(f"{k.split('_')[1]} thread{'s' if k != 'threads_1_ms' else ''} (ms)"
                      for k in threads)
    out = ["### One forward pass, optimisation by optimisation", "",
           f"{costs['rows']} rows of {costs['tokens']} tokens with {costs['masked']} masked "
           "slots each (three candidates in one batch); median of several passes.", "",
           f"| configuration | {head} |", "|---|" + "---|" * len(threads)]
    for row in costs["passes"]:
        out.append(f"| {row['configuration']} | "
                   + " | ".join(_n(row.get(k), 2) for k in threads) + " |")
    compiled = report.get("torch_compile") or {}
    if compiled.get("error"):
        out += ["", f"`torch.compile` of the lean path failed here: {compiled['error']}"]
    elif compiled:
        out += ["", f"`torch.compile(dynamic=True)` of the lean path ({compiled['rows']} rows "
                f"of {compiled['tokens']} tokens, all cores): eager {_n(compiled['eager_ms'])} "
                f"ms, compiled {_n(compiled['compiled_ms'])} ms per pass after a first call "
                f"of {_n(compiled['first_call_s'])} s; the first call on a canvas 32 tokens "
                f"shorter took {_n(compiled['other_length_first_call_ms'])} ms."]
    return [*out, ""]


def _profiles(report: dict[str, Any]) -> list[str]:
    found = report.get("profile")
    if not found:
        return []
    out = ["### Where the time goes (pyinstrument, shipped default)", "",
           "Each sample is charged to the innermost function of `code_diffusion` on its stack "
           "(time inside torch is charged to the engine function that called it) and to the "
           "library running at that moment.", ""]
    for name, row in found.items():
        functions = ", ".join(f"`{f['function']}` {_pct(f['share'])}"
                              for f in row["by_function"][:6])
        libraries = ", ".join(f"{lib['library']} {_pct(lib['share'])}"
                              for lib in row["by_library"])
        out += [f"- **{name}** ({row['requests']} fills, {_n(row['seconds'])} s): "
                f"{functions}. By library: {libraries}."]
    return [*out, ""]


def _images(images: dict[str, Path], docs: Path) -> list[str]:
    out = []
    for title, path in images.items():
        rel = os.path.relpath(path, docs.parent)
        out += [f"![{title}]({rel})", ""]
    return out


def _meaning() -> list[str]:
    return [
        "### What the figures mean", "",
        "- **Latency** is wall time around one fill: tokenising, the denoising loop and the "
        "post-processing (ranking, cutting at the hole's end). *Through the server* is the "
        "client's wall time for the request over stdio; the client sets `debounceMs` to 0, "
        "since the debounce is a deliberate wait for the next keystroke.",
        "- **Forward passes** per completion count batched passes once (three candidates in one "
        "pass cost one). **Tokens / pass** is the returned candidate's real tokens (not "
        "`[PAD]`) over the passes spent: how many tokens each pass decided.",
        "- **Quality**: exact match of the rest of the line or of the block (held-out files); "
        "pass@1 of the filled HumanEval program in the evaluation's sandbox; for the 20-line "
        "selection, difflib's similarity ratio to the selected text. An empty answer scores "
        "0.",
        "- **(a) reference**: fixed canvas of the workload's longest completion (32 tokens "
        "for a line, 64 otherwise) that must hold real tokens, one token committed per pass "
        "(the LLaDA paper's low-confidence remasking). **(b) quota**: the linear schedule "
        "over a fixed step budget on the canvas sized from the hole. **(c) threshold**: every "
        "slot with confidence ≥ τ is committed, at least one per pass and at least the quota "
        "that finishes within the shipped step budget. **(d)** is what the language server "
        "ships: its default settings and the engine's default sampler; its variants change "
        "one thing each. Every setting runs on the line and HumanEval workloads; the held-out "
        "block and the 20-line selection run (a), (d) and the cache variant.",
        "- **Cold start**: the time from launching `python -m code_diffusion serve` to the "
        "answer to `initialize`, and to the answer to a completion sent right after "
        "`initialized` (the server loads the model in the background and answers it once "
        "loaded).", ""]
