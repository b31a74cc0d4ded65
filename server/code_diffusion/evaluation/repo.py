"""The real-code benchmark: lines of pinned pure-Python releases, with their projects around.

``repo-single-line``: one whole statement, or a compound statement's header line, inside a
function body (at any depth), 8–90 characters stripped, not a docstring, comment or decorator.
``repo-rest-of-line``: the same statements with the cursor inside the line, as ghost text is
mostly asked while typing: after a word or a symbol (where a word ends or a symbol starts or
ends, never at the line's end), at a place drawn from the file's path and line number, so the
hole is the rest of the line.
``repo-multi-line``: 2–6 consecutive whole sibling statements of one body (at most 12 lines).
``repo-code-actions``: what ``Generate from comment`` and ``Fill in body`` write, laid out by
the actions' own plans: the statements under each ``#`` comment (up to 6, until a blank line or
a dedent) and each function body after a docstring (at most 12 lines), with the comment or the
docstring as the specification (:mod:`~code_diffusion.training.described`); the buffer is the
file with that code taken out (and, for a body, ``pass`` in its place, which the action
replaces).
The cursor sits after the first line's indentation (except in ``repo-rest-of-line``); the
prefix and suffix are the whole rest of the file, so ``prefix + middle + suffix`` is the file
byte for byte; the project's other files are the workspace. Tasks are sampled with a fixed
seed, in a fixed order: deterministic.

The projects are in neither the corpus nor the project's dependencies. Their wheels are
downloaded once, pinned, with pip, into ``~/.cache/code-diffusion/repo-bench/`` and read with
``zipfile`` (nothing is extracted). ``pyflakes``' own tests are left out.

``python -m code_diffusion.evaluation.repo --measure-drafts`` measures drafts alone (no model).
"""

from __future__ import annotations

import ast
import json
import logging
import random
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROJECTS = {"sortedcontainers": "2.4.0", "cachetools": "8.0.0", "funcy": "2.1",
            "pyflakes": "4.1.0"}
EXCLUDED_PREFIXES = {"pyflakes": ("pyflakes/test/",)}
SINGLE_LINE = "repo-single-line"
REST_OF_LINE = "repo-rest-of-line"
MULTI_LINE = "repo-multi-line"
CODE_ACTIONS = "repo-code-actions"
BENCHMARKS = (SINGLE_LINE, REST_OF_LINE, MULTI_LINE, CODE_ACTIONS)
ONE_LINE = (SINGLE_LINE, REST_OF_LINE)
"""The benchmarks whose hole is one line (scored on its first line)."""
CACHE_DIR = Path.home() / ".cache" / "code-diffusion" / "repo-bench"
MIN_CHARS, MAX_CHARS = 8, 90
MIN_STATEMENTS, MAX_STATEMENTS, MAX_BLOCK_LINES = 2, 6, 12


@dataclass(frozen=True)
class RepoTask:
    """One hole in a project file. ``middle`` is the reference (also written as
    ``canonical_solution`` for HumanEval-style readers)."""

    task_id: str
    project: str
    path: str
    prefix: str
    suffix: str
    middle: str
    language: str = "python"
    hole: str = "line"
    specification: str = ""
    """What a code action hands the generator (``repo-code-actions``), else empty."""

    def to_json(self) -> dict[str, str]:
        data = asdict(self)
        data["canonical_solution"] = self.middle
        return data


# --- the projects ------------------------------------------------------------------------------
def wheel_paths(cache_dir: Path = CACHE_DIR, download: bool = True) -> dict[str, Path]:
    """The four pinned wheels, downloaded with pip into ``cache_dir`` if missing."""
    def find() -> dict[str, Path]:
        return {name: wheel for name, version in PROJECTS.items()
                for wheel in sorted(cache_dir.glob(f"{name}-{version}-*.whl"))[:1]}
    found = find()
    if len(found) < len(PROJECTS) and download:
        cache_dir.mkdir(parents=True, exist_ok=True)
        pins = [f"{name}=={version}" for name, version in PROJECTS.items()]
        command = [sys.executable, "-m", "pip", "download", "--no-deps",
                   "--only-binary=:all:", *pins, "-d", str(cache_dir)]
        log.info("downloading the benchmark wheels: %s", " ".join(command))
        subprocess.run(command, check=True)
        found = find()
    missing = sorted(set(PROJECTS) - set(found))
    if missing:
        raise FileNotFoundError(
            f"no wheel for {', '.join(missing)} in {cache_dir}; run "
            f"`python3 -m pip download --no-deps --only-binary=:all: "
            f"{' '.join(f'{n}=={PROJECTS[n]}' for n in missing)} -d {cache_dir}`")
    return found


def wheel_sources(wheel: Path, project: str) -> dict[str, str]:
    """The ``.py`` files of a wheel by path inside it (metadata and excluded tests left out)."""
    skip = EXCLUDED_PREFIXES.get(project, ())
    files = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if (name.endswith(".py") and ".dist-info/" not in name
                    and not name.startswith(skip)):
                files[name] = archive.read(name).decode("utf-8")
    return files


def load_projects(cache_dir: Path = CACHE_DIR, download: bool = True
                  ) -> dict[str, dict[str, str]]:
    """Project name → its files (path → text)."""
    return {name: wheel_sources(path, name)
            for name, path in sorted(wheel_paths(cache_dir, download).items())}


# --- holes -------------------------------------------------------------------------------------
def _bodies(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list inside a function (the function's body and nested blocks)."""
    def inner(node: ast.AST) -> Iterator[list[ast.stmt]]:
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block
        for handler in getattr(node, "handlers", []):
            yield handler.body
        for case in getattr(node, "cases", []):
            yield case.body
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from inner(child)

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from inner(node)


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _statement_line(node: ast.stmt, lines: list[str]) -> int | None:
    """The 0-based line a single-line task can take from ``node``: the whole statement when it
    fills one line, or a compound statement's one-line header; ``None`` otherwise."""
    number = node.lineno - 1
    line = lines[number]
    stripped = line.strip()
    if (_is_docstring(node) or node.col_offset != len(line) - len(line.lstrip())
            or stripped.startswith(("#", "@")) or not MIN_CHARS <= len(stripped) <= MAX_CHARS):
        return None
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        if body[0].lineno - 1 == number + 1 and stripped.endswith(":"):
            return number if not getattr(node, "decorator_list", None) else None
        return None
    if node.end_lineno == node.lineno and line[node.end_col_offset:].strip() == "":
        return number
    return None


def _spans(text: str, kind: str) -> list[tuple[int, int]]:
    """(first line, last line + 1) of every hole of ``kind`` in a Python file."""
    lines = text.split("\n")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    spans = set()
    for body in _bodies(tree):
        if kind in ONE_LINE:
            for node in body:
                number = _statement_line(node, lines)
                if number is not None:
                    spans.add((number, number + 1))
            continue
        for first in range(len(body)):
            head = body[first]
            if _is_docstring(head) or head.col_offset != len(lines[head.lineno - 1]) - len(
                    lines[head.lineno - 1].lstrip()):
                continue
            for last in range(first + MIN_STATEMENTS - 1,
                              min(len(body), first + MAX_STATEMENTS)):
                end = body[last].end_lineno
                if (end - head.lineno + 1 <= MAX_BLOCK_LINES
                        and lines[end - 1][body[last].end_col_offset:].strip() == ""):
                    spans.add((head.lineno - 1, end))
    return sorted(spans)


def file_tasks(project: str, path: str, text: str, kind: str) -> list[RepoTask]:
    """Every task of ``kind`` in one file, in line order."""
    if kind == CODE_ACTIONS:
        return _action_tasks(project, path, text)
    tasks = []
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    lines = text.split("\n")
    for first, last in _spans(text, kind):
        column = len(lines[first]) - len(lines[first].lstrip())
        span = f"L{first + 1}" if last == first + 1 else f"L{first + 1}-{last}"
        if kind == REST_OF_LINE:
            column = typed_column(lines[first], column, f"{project}/{path}:{first + 1}")
            span += f":C{column + 1}"
        cursor = starts[first] + column
        stop = starts[last] - 1  # the end of the last line, before its line break
        tasks.append(RepoTask(f"{kind}/{project}/{path}:{span}", project, path,
                              text[:cursor], text[stop:], text[cursor:stop],
                              hole="line" if kind in ONE_LINE else "block"))
    return tasks


def typed_column(line: str, indent: int, key: str) -> int:
    """Where the cursor of a ``repo-rest-of-line`` task stands in ``line``: after at least one
    typed character, where a word ends or a symbol starts or ends (the places
    ``training.windows.rest_of_line_hole`` cuts at), never at the end; drawn with ``key`` as the
    seed, so a task's cursor depends on nothing else."""
    end = len(line.rstrip())
    cuts = [i for i in range(indent + 1, end)
            if not line[i - 1].isalnum() or not line[i].isalnum()]
    return random.Random(key).choice(cuts) if cuts else indent


def _action_tasks(project: str, path: str, text: str) -> list[RepoTask]:
    from code_diffusion.training.described import file_holes

    try:
        ast.parse(text)
    except SyntaxError:
        return []
    return [RepoTask(f"{CODE_ACTIONS}/{project}/{path}:L{row + 1}", project, path,
                     hole.document[: hole.cursor], hole.document[hole.cursor :], hole.truth,
                     hole=hole.hole, specification=hole.specification)
            for row, hole in file_holes(text, MAX_BLOCK_LINES)]


def build_tasks(projects: dict[str, dict[str, str]], kind: str = SINGLE_LINE,
                limit: int | None = 400, seed: int = 0) -> list[RepoTask]:
    """A fixed-seed sample of ``limit`` tasks (all with ``None``) over every project, in
    project, path and line order."""
    if kind not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {kind!r}; choose one of {', '.join(BENCHMARKS)}")
    tasks = [task for project, files in sorted(projects.items())
             for path, text in sorted(files.items())
             for task in file_tasks(project, path, text, kind)]
    if limit is None or limit >= len(tasks):
        return tasks
    chosen = sorted(random.Random(seed).sample(range(len(tasks)), limit))
    return [tasks[i] for i in chosen]


def write_tasks(path: Path, tasks: list[RepoTask]) -> None:
    """JSON lines in the shape ``code-diffusion eval --tasks`` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for task in tasks:
            handle.write(json.dumps(task.to_json()) + "\n")


# --- drafts alone, no model --------------------------------------------------------------------
def _right(draft: str, middle: str, kind: str) -> bool:
    """Exact match: of the first line (single-line), of every line (multi-line); trailing
    whitespace ignored, as ``code-diffusion eval`` scores."""
    lines = [[x.rstrip() for x in text.rstrip().split("\n")] for text in (draft, middle)]
    return lines[0][:1] == lines[1][:1] if kind in ONE_LINE else lines[0] == lines[1]


def measure_drafts(projects: dict[str, dict[str, str]], tasks: list[RepoTask],
                   kind: str = SINGLE_LINE, options=None) -> dict[str, float | int]:
    """Exact match of the best draft, the right answer among the drafts, the share of tasks
    with a draft and the latency (ms) of ``assemble_context`` (``options``, default: the
    defaults without snippets). A task's document is its prefix + suffix; its project's files
    are the workspace index (the task's own file is skipped by path)."""
    import time

    from code_diffusion.engine.context import ContextOptions, WorkspaceIndex, assemble_context

    options = options or ContextOptions(snippet_budget=0)
    indexes = {name: WorkspaceIndex() for name in projects}
    for name, files in projects.items():
        for path, text in files.items():
            indexes[name].update(path, text)
        indexes[name].compact()
    right = among = answered = 0
    latency = []
    for task in tasks:
        text, cursor = task.prefix + task.suffix, len(task.prefix)
        started = time.perf_counter()
        drafts = assemble_context(text, cursor, cursor, path=task.path, language=task.language,
                                  index=indexes[task.project], options=options,
                                  hole=task.hole).drafts
        latency.append((time.perf_counter() - started) * 1000)
        answered += bool(drafts)
        right += bool(drafts) and _right(drafts[0].text, task.middle, kind)
        among += any(_right(d.text, task.middle, kind) for d in drafts)
    count = max(1, len(tasks))
    return {"tasks": len(tasks), "exact_best": round(100 * right / count, 1),
            "right_among_drafts": round(100 * among / count, 1),
            "answered": round(100 * answered / count, 1),
            "precision_when_answered": round(100 * right / max(1, answered), 1),
            **{f"latency_ms_p{share}": round(sorted(latency)[len(latency) * share // 100], 2)
               for share in (50, 95)}}


def largest_file_latency(projects: dict[str, dict[str, str]], holes: int = 200,
                         seed: int = 0) -> dict[str, float | int | str]:
    """Draft latency over ``holes`` single-line tasks of the largest file (by lines)."""
    name, path = max(((n, p) for n, files in projects.items() for p in files),
                     key=lambda np_: projects[np_[0]][np_[1]].count("\n"))
    tasks = file_tasks(name, path, projects[name][path], SINGLE_LINE)
    sample = sorted(random.Random(seed).sample(tasks, min(holes, len(tasks))),
                    key=lambda t: t.task_id)
    figures = measure_drafts({name: projects[name]}, sample)
    return {"file": f"{name}/{path}", "lines": projects[name][path].count("\n") + 1,
            "holes": len(sample), "latency_ms_p50": figures["latency_ms_p50"],
            "latency_ms_p95": figures["latency_ms_p95"]}


def index_memory(root: str | Path, skip_dirs: tuple[str, ...] = ("site-packages",)
                 ) -> dict[str, float | int]:
    """Files, lines, text size, ``memory_bytes()`` and the memory traced while indexing (MB)
    of the ``.py`` files under ``root`` (``load_workspace`` rules; ``skip_dirs`` left out)."""
    import tracemalloc

    from code_diffusion.engine.context import WorkspaceIndex
    from code_diffusion.evaluation.workspace import load_workspace

    texts = {path: text for path, text in load_workspace(root, max_files=100_000).items()
             if not any(part in skip_dirs for part in path.split("/"))}
    tracemalloc.start()
    index = WorkspaceIndex()
    for path, text in texts.items():
        index.update(path, text)
    index.compact()
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"files": index.file_count, "lines": sum(t.count("\n") + 1 for t in texts.values()),
            "text_mb": round(sum(map(len, texts.values())) / 2**20, 1),
            "memory_bytes_mb": round(index.memory_bytes() / 2**20, 1),
            "traced_mb": round(traced / 2**20, 1)}


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m code_diffusion.evaluation.repo")
    parser.add_argument("--benchmark", choices=BENCHMARKS, default=SINGLE_LINE)
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-tasks", type=Path, metavar="FILE.jsonl")
    parser.add_argument("--measure-drafts", action="store_true", help="drafts alone, no model")
    parser.add_argument("--rename-lines", type=int, default=None, metavar="N",
                        help="with --measure-drafts: aligned lines each way whose changed names "
                             "a draft takes (0: drafts copied as they are; default: the "
                             "engine's)")
    parser.add_argument("--index-memory", type=Path, metavar="DIR",
                        help="index the .py files under DIR (site-packages left out)")
    args = parser.parse_args(argv)
    projects = load_projects()
    tasks = build_tasks(projects, args.benchmark, args.limit, args.seed)
    if args.write_tasks:
        write_tasks(args.write_tasks, tasks)
        print(f"wrote {len(tasks)} tasks to {args.write_tasks}")
    if args.measure_drafts:
        from code_diffusion.engine.context import ContextOptions

        options = ContextOptions(snippet_budget=0)
        if args.rename_lines is not None:
            options = ContextOptions(snippet_budget=0, rename_lines=args.rename_lines)
        print(json.dumps({"benchmark": args.benchmark, "seed": args.seed,
                          "rename_lines": options.rename_lines,
                          **measure_drafts(projects, tasks, args.benchmark, options)}))
        print(json.dumps({"largest_file": largest_file_latency(projects)}))
    if args.index_memory:
        print(json.dumps({"index": index_memory(args.index_memory)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
