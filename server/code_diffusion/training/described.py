"""Holes the code actions fill from a description, cut from real code.

``Generate from comment``: the statements right under a ``#`` comment (same indentation) are
taken out, and the action's own plan (:func:`~code_diffusion.engine.actions.plan_action`) opens
the line it writes on; the comment is the specification. ``Fill in body``: a function's code
after its docstring is replaced by ``pass`` and the action's plan finds the stub; the docstring
is the specification. Training draws them at random (:func:`random_hole`); the benchmark takes
every one of a file (:func:`file_holes`), so both see the layout the server gives the action.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from code_diffusion.engine.actions import FILL_BODY, GENERATE, plan_action

MAX_STATEMENTS = 6
"""Statements under a comment that make one hole (fewer when a blank line or a dedent comes
first)."""


@dataclass(frozen=True)
class ActionHole:
    """The buffer the action fills (``document`` with the cursor at ``cursor``), the code the
    file had there (``truth``) and the action's specification."""

    action: str
    document: str
    cursor: int
    truth: str
    specification: str
    hole: str = "block"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _statement_rows(lines: list[str], first: int, indent: int, most: int) -> int:
    """The last row of the first ``1..most`` statements at ``indent`` from row ``first`` (rows
    indented deeper belong to the statement above them; a blank row or a dedent ends them)."""
    last, count = first, 0
    for row in range(first, len(lines)):
        line = lines[row]
        if not line.strip() or _indent(line) < indent:
            break
        if _indent(line) == indent:
            if count == most:
                break
            count += 1
        last = row
    return last


def comment_rows(lines: list[str]) -> list[int]:
    """Rows of a ``#`` comment line right above code at the same indentation."""
    return [r for r in range(len(lines) - 1) if lines[r].lstrip().startswith("#")
            and lines[r + 1].strip() and not lines[r + 1].lstrip().startswith("#")
            and _indent(lines[r + 1]) == _indent(lines[r])]


def comment_hole(text: str, row: int, most: int = MAX_STATEMENTS) -> ActionHole | None:
    """The first ``most`` statements under the comment at ``row`` (see :func:`comment_rows`)."""
    lines = text.split("\n")
    indent = _indent(lines[row])
    last = _statement_rows(lines, row + 1, indent, most)
    truth = "\n".join(lines[row + 1 : last + 1])[indent:]
    rest = "\n".join(lines[: row + 1] + lines[last + 1 :])
    at = len("\n".join(lines[:row])) + (1 if row else 0)
    plan = plan_action(GENERATE, rest, at, at, "python")
    if plan is None:
        return None
    return ActionHole(GENERATE, plan.text, plan.start, truth, plan.specification, plan.kind)


def docstring_rows(lines: list[str]) -> list[int]:
    """Rows of a ``def`` header whose next line opens a docstring."""
    return [r for r in range(len(lines) - 2)
            if lines[r].lstrip().startswith(("def ", "async def "))
            and lines[r].rstrip().endswith(":")
            and lines[r + 1].lstrip().startswith(('"""', "'''"))]


def docstring_hole(text: str, row: int, max_lines: int | None = None) -> ActionHole | None:
    """The whole body after the docstring of the function at ``row`` (``None`` when there is
    none, or when it has more than ``max_lines`` lines)."""
    lines = text.split("\n")
    quote = lines[row + 1].lstrip()[:3]
    close = row + 1
    while close < len(lines) and lines[close].count(quote) < (2 if close == row + 1 else 1):
        close += 1
    body = close + 1
    if body >= len(lines) or not lines[body].strip() or \
            _indent(lines[body]) <= _indent(lines[row]):
        return None
    last = _statement_rows(lines, body, _indent(lines[body]), 10**6)
    if max_lines is not None and last - body + 1 > max_lines:
        return None
    indent = lines[body][: _indent(lines[body])]
    truth = "\n".join(lines[body : last + 1])[len(indent) :]
    stub = "\n".join([*lines[:body], indent + "pass", *lines[last + 1 :]])
    at = len("\n".join(lines[:body])) + 1 + len(indent)
    plan = plan_action(FILL_BODY, stub, at, at, "python")
    if plan is None:
        return None
    document = plan.text[: plan.start] + plan.text[plan.end :]
    return ActionHole(FILL_BODY, document, plan.start, truth, plan.specification, plan.kind)


def random_hole(text: str, rng: np.random.Generator) -> ActionHole | None:
    """A comment hole (1 .. :data:`MAX_STATEMENTS` statements) or a body hole, half each."""
    lines = text.split("\n")
    if rng.random() < 0.5:
        rows = comment_rows(lines)
        if not rows:
            return None
        row = rows[int(rng.integers(len(rows)))]
        return comment_hole(text, row, 1 + int(rng.integers(MAX_STATEMENTS)))
    rows = docstring_rows(lines)
    return docstring_hole(text, rows[int(rng.integers(len(rows)))]) if rows else None


def file_holes(text: str, max_lines: int) -> Iterator[tuple[int, ActionHole]]:
    """Every hole of a file, in line order, as ``(row, hole)``: each comment's statements (up
    to :data:`MAX_STATEMENTS`) and each documented body of at most ``max_lines`` lines."""
    lines = text.split("\n")
    found = [(row, comment_hole(text, row)) for row in comment_rows(lines)]
    found += [(row, docstring_hole(text, row, max_lines)) for row in docstring_rows(lines)]
    for row, hole in sorted(found, key=lambda item: item[0]):
        if hole is not None and hole.truth.count("\n") < max_lines:
            yield row, hole
