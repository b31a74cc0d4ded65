"""The benchmark's requests: fixed and seeded, from held-out files and HumanEval infill.

* ``line``: a single-line inline completion at the cursor in a 200-line held-out file. The cursor
  sits after the first word of a code line (what the user has typed); the hole is the rest of
  the line. Quality: exact match of the rest of the line.
* ``block``: a multi-line block of up to 64 tokens in a 200-line held-out file: the body under a
  block opener (``def``/``if``/``for``... ending in ``:``) is removed and the cursor sits on the
  empty line below the opener. Quality: exact match and edit similarity of the block.
* ``action``: the *Regenerate selection* code action on a 20-line selection of a 200-line
  held-out file. Quality: edit similarity to the selected text.
* ``humaneval-line`` / ``humaneval-block``: HumanEval single-line and multi-line infill tasks (the
  evaluation's construction, :mod:`code_diffusion.evaluation.tasks`); multi-line tasks are kept
  when the reference has at most 64 tokens. Quality: pass@1 in the evaluation's sandbox.

Held-out files are the standard-library files of the training corpus's validation split (the
corpus's own hold-out rule), so the model never trained on them.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from code_diffusion.evaluation.tasks import InfillTask

FILE_LINES = 200
SELECTION_LINES = 20
BLOCK_TOKENS = 64
LINE = "line"
BLOCK = "block"
ACTION = "action"
HUMANEVAL_LINE = "humaneval-line"
HUMANEVAL_BLOCK = "humaneval-block"
WORKLOADS = (LINE, BLOCK, ACTION, HUMANEVAL_LINE, HUMANEVAL_BLOCK)
DESCRIPTIONS = {
    LINE: "single-line inline completion at the cursor in a 200-line held-out file",
    BLOCK: "multi-line block (≤ 64 tokens) under a block opener in a 200-line held-out file",
    ACTION: "Regenerate selection: a 20-line selection in a 200-line held-out file",
    HUMANEVAL_LINE: "HumanEval single-line infill",
    HUMANEVAL_BLOCK: "HumanEval multi-line infill (reference ≤ 64 tokens)",
}
QUALITY_METRIC = {
    LINE: "exact match", BLOCK: "exact match", ACTION: "edit similarity",
    HUMANEVAL_LINE: "pass@1", HUMANEVAL_BLOCK: "pass@1",
}
_WORD = re.compile(r"\s*[\w.]+[ (.=\[]?")


@dataclass(frozen=True)
class Request:
    """One fill: the buffer, the hole ``[start, end)`` and what should go in it."""

    workload: str
    task_id: str
    text: str
    start: int
    end: int
    middle: str
    hole: str
    """The hole kind of the workload (``line``, ``block``, ``span``); editors send ``auto``."""
    language: str = "python"
    task: InfillTask | None = None
    """The HumanEval task, for scoring in the sandbox."""

    @property
    def insertion(self) -> bool:
        return self.end == self.start


@functools.cache
def heldout_files() -> tuple[Path, ...]:
    """Held-out standard-library files with at least 200 lines, in a stable order."""
    from code_diffusion.training import corpus

    signatures = corpus.humaneval_signatures()
    found = []
    for source, relpath, path in corpus._stdlib_files():
        if corpus.split_of(source, relpath) != "valid":
            continue
        text = corpus._readable(path)
        if text is None or text.count("\n") < FILE_LINES + 10:
            continue
        if signatures and any(sig in text for sig in signatures):
            continue
        found.append(path)
    return tuple(found)


def _windows(seed: int) -> list[tuple[str, list[str]]]:
    """200-line windows of held-out files, one per file, in a seeded order."""
    rng = random.Random(seed)
    out = []
    for path in heldout_files():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        first = rng.randrange(0, len(lines) - FILE_LINES + 1)
        out.append((path.name, lines[first : first + FILE_LINES]))
    rng.shuffle(out)
    return out


def _line_request(name: str, lines: list[str], rng: random.Random) -> Request | None:
    rows = [i for i in range(FILE_LINES // 2, FILE_LINES - 5)
            if 12 <= len(lines[i].strip()) <= 72 and not lines[i].lstrip().startswith(("#", '"'))]
    if not rows:
        return None
    row = rng.choice(rows)
    line = lines[row].rstrip("\n")
    indent = len(line) - len(line.lstrip())
    typed = _WORD.match(line, indent)
    cut = typed.end() if typed and typed.end() < len(line.rstrip()) else indent
    before = "".join(lines[:row]) + line[:cut]
    after = "\n" + "".join(lines[row + 1 :])
    return Request(LINE, f"{LINE}/{name}/L{row + 1}", before + after, len(before), len(before),
                   line[cut:].rstrip(), LINE)


def _block_request(name: str, lines: list[str], rng: random.Random,
                   count_tokens: Callable[[str], int]) -> Request | None:
    options = []
    for row in range(FILE_LINES // 3, FILE_LINES - 12):
        opener = lines[row].rstrip()
        if not opener.endswith(":") or opener.lstrip().startswith("#"):
            continue
        depth = len(opener) - len(opener.lstrip())
        body_end = row + 1
        while body_end < FILE_LINES and (not lines[body_end].strip() or len(
                lines[body_end]) - len(lines[body_end].lstrip()) > depth):
            body_end += 1
        while body_end > row + 1 and not lines[body_end - 1].strip():
            body_end -= 1
        body = "".join(lines[row + 1 : body_end])
        if body_end - row - 1 >= 2 and count_tokens(body) <= BLOCK_TOKENS:
            options.append((row, body_end))
    if not options:
        return None
    row, body_end = rng.choice(options)
    before = "".join(lines[: row + 1])
    after = "\n" + "".join(lines[body_end:])
    middle = "".join(lines[row + 1 : body_end])
    return Request(BLOCK, f"{BLOCK}/{name}/L{row + 2}-{body_end}", before + after, len(before),
                   len(before), middle, BLOCK)


def _action_request(name: str, lines: list[str], rng: random.Random) -> Request | None:
    rows = [i for i in range(FILE_LINES // 4, FILE_LINES - SELECTION_LINES)
            if lines[i].strip() and lines[i + SELECTION_LINES - 1].strip()]
    if not rows:
        return None
    row = rng.choice(rows)
    before = "".join(lines[:row])
    middle = "".join(lines[row : row + SELECTION_LINES])
    text = before + middle + "".join(lines[row + SELECTION_LINES :])
    return Request(ACTION, f"{ACTION}/{name}/L{row + 1}-{row + SELECTION_LINES}", text,
                   len(before), len(before) + len(middle), middle, "span")


def heldout_requests(workload: str, count: int, seed: int,
                     count_tokens: Callable[[str], int]) -> list[Request]:
    """``count`` requests of a held-out workload (cycling over the files if there are few)."""
    rng = random.Random(f"{workload}/{seed}")
    windows = _windows(seed)
    out: list[Request] = []
    seen: set[str] = set()
    for attempt in range(count * 4):
        name, lines = windows[attempt % len(windows)]
        if workload == LINE:
            request = _line_request(name, lines, rng)
        elif workload == BLOCK:
            request = _block_request(name, lines, rng, count_tokens)
        else:
            request = _action_request(name, lines, rng)
        if request is not None and request.task_id not in seen:
            seen.add(request.task_id)
            out.append(request)
        if len(out) == count:
            break
    return out


def humaneval_requests(workload: str, count: int, seed: int,
                       count_tokens: Callable[[str], int]) -> list[Request]:
    """``count`` HumanEval tasks, a fixed-seed sample (the evaluation's ``subsample``)."""
    from code_diffusion.evaluation import tasks as humaneval

    name = humaneval.SINGLE_LINE if workload == HUMANEVAL_LINE else humaneval.MULTI_LINE
    tasks = humaneval.benchmark_tasks(name)
    if workload == HUMANEVAL_BLOCK:
        tasks = [t for t in tasks if count_tokens(t.middle or "") <= BLOCK_TOKENS]
    out = []
    for task in humaneval.subsample(tasks, count, seed):
        text = task.prefix + task.suffix
        hole = LINE if workload == HUMANEVAL_LINE else BLOCK
        out.append(Request(workload, task.task_id, text, len(task.prefix), len(task.prefix),
                           task.middle or "", hole, task.language, task))
    return out


def build(workload: str, count: int, seed: int,
          count_tokens: Callable[[str], int]) -> list[Request]:
    if workload in (HUMANEVAL_LINE, HUMANEVAL_BLOCK):
        return humaneval_requests(workload, count, seed, count_tokens)
    if workload in (LINE, BLOCK, ACTION):
        return heldout_requests(workload, count, seed, count_tokens)
    raise ValueError(f"unknown workload {workload!r}; choose from {', '.join(WORKLOADS)}")
