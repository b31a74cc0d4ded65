"""The context table: rows of :mod:`code_diffusion.evaluation.context`, for the console and for
``docs/benchmarks.md`` (only the text between ``<!-- context-eval:begin -->`` and
``<!-- context-eval:end -->`` is rewritten)."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from code_diffusion.engine.chance import MIN_CHANCE
from code_diffusion.engine.context import ContextOptions, WorkspaceIndex
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.evaluation.context import (
    SERVER_DEFAULTS,
    ContextEvaluation,
    ContextTask,
    NoModel,
    rows,
)

BEGIN, END = "<!-- context-eval:begin -->", "<!-- context-eval:end -->"
COLUMNS = ("exact", "similarity", "accepted_share", "answered", "right_when_answered",
           "latency_ms_p50")


def run_rows(generator: Any, tasks: Sequence[ContextTask], indexes: Mapping[str, WorkspaceIndex],
             default: ContextOptions | None, *, ablations: bool,
             log: Callable[[str], None], sampler: Any = None
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every row for one task set (``default=None``: the context is off, model only);
    ``sampler``: the ``SamplerOptions`` of every fill (``None``: the engine's defaults)."""
    params = {**SERVER_DEFAULTS, **({} if sampler is None else {"sampler": sampler})}
    evaluation = ContextEvaluation(generator, indexes, params=params, log=log)
    table: dict[str, Any] = {}
    chosen = rows(default or ContextOptions())
    names = list(chosen) if ablations else list(chosen)[:2]
    if default is None:
        names = names[:1]
    for name in names:
        log(f"{name.strip()} ...")
        table[name] = evaluation.run_row(name.strip(), tasks, chosen[name])
    if default is not None:
        log("ghost text (one candidate, the chance threshold) ...")
        table.update(evaluation.ghost_rows(tasks, default, MIN_CHANCE))
        log("drafts only (no model) ...")
        table["drafts only (no model)"] = evaluation.run_row(
            "drafts only", tasks, default, CodeGenerator(NoModel()))
        table["right line among the drafts (upper bound)"] = evaluation.right_among_drafts(
            tasks, default)
    return table, evaluation.details


def console_table(sections: Mapping[str, Mapping[str, Any]]) -> str:
    lines = []
    for label, table in sections.items():
        lines.append(f"{label}")
        lines.append(f"  {'row':50} {'exact':>7} {'sim':>6} {'accepted':>9} {'answered':>9} "
                     f"{'right/ans':>9} {'p50 ms':>8}")
        for name, figures in table.items():
            cells = [_cell(figures, key) for key in COLUMNS]
            lines.append(f"  {name:50} {cells[0]:>7} {cells[1]:>6} {cells[2]:>9} "
                         f"{cells[3]:>9} {cells[4]:>9} {cells[5]:>8}")
    return "\n".join(lines)


def _cell(figures: Mapping[str, Any], key: str) -> str:
    value = figures.get(key)
    if value is None:
        return "—"
    percent = ("exact", "accepted_share", "answered", "right_when_answered")
    return f"{value:.1f} %" if key in percent else f"{value:g}"


def markdown_section(sections: Mapping[str, Mapping[str, Any]], command: str,
                     model: str, notes: Sequence[str] = ()) -> str:
    out = ["## Real code with context (`code-diffusion eval --benchmark repo-*`)", "",
           f"Command: `{command}`  ", f"Model: {model}  ",
           f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
           f"Python {platform.python_version()}, CPU, `CODE_DIFFUSION_THREADS=1`  ",
           f"Date: {time.strftime('%Y-%m-%d', time.gmtime())}", ""]
    for label, table in sections.items():
        out += [f"### {label}", "",
                "| row | exact | edit similarity | accepted chars | answered | right when "
                "answered | p50 ms |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for name, figures in table.items():
            accepted = figures.get("accepted_chars")
            share = _cell(figures, "accepted_share")
            chars = "—" if accepted is None else f"{accepted} ({share})"
            out.append(f"| {name.strip()} | {_cell(figures, 'exact')} | "
                       f"{_cell(figures, 'similarity')} | {chars} | "
                       f"{_cell(figures, 'answered')} | {_cell(figures, 'right_when_answered')} | "
                       f"{_cell(figures, 'latency_ms_p50')} |")
        out.append("")
    out += list(notes)
    return "\n".join(out).rstrip() + "\n"


def update_docs(path: str | Path, section: str) -> None:
    """Replace the text between this table's markers (appended when missing)."""
    path = Path(path)
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start, end = text.find(BEGIN), text.find(END)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
