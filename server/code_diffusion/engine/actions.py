"""Where the four code actions put their hole, worked out on plain text.

Each action turns a buffer, a character range (the cursor or a selection) and a language id into
an :class:`ActionPlan`: the text the model fills, the hole in it, the specification, and how the
filled hole maps back onto the buffer as one edit. Nothing here runs a model or knows LSP; the
language server calls :func:`available_actions` to list what applies and :func:`plan_action` to
compute the plan it hands to the generator.

Offsets are Python ``str`` (code point) offsets; lines are read with
:class:`~code_diffusion.engine.text.Lines`, comments with the language table
(:mod:`~code_diffusion.engine.languages`) and Python structure with
:mod:`~code_diffusion.engine.syntax`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from code_diffusion.engine import syntax
from code_diffusion.engine.languages import comment_markers
from code_diffusion.engine.text import Lines

GENERATE = "generateFromComment"
FILL_BODY = "fillBody"
REGENERATE = "regenerateSelection"
REPAIR = "repairSyntax"
ACTIONS = (GENERATE, FILL_BODY, REGENERATE, REPAIR)
"""Every action, in the order an editor lists them."""

REPAIR_REACH = 2
"""How many lines away from the range a syntax error may be and still be offered for repair."""

_STUB_LINE = re.compile(r"^(pass|\.\.\.)?\s*(#.*)?$")


@dataclass(frozen=True)
class ActionPlan:
    """A hole to fill for one action, and how the filled hole becomes an edit of the buffer.

    Filling ``text[start:end]`` with a candidate ``c`` gives the same buffer as replacing
    ``buffer[edit_start:edit_end]`` with ``before + c + after``.
    """

    action: str
    """One of :data:`ACTIONS`."""
    text: str
    """The text the model sees: the buffer, with one line opened where the code goes."""
    start: int
    """Start of the hole in ``text``."""
    end: int
    """End of the hole in ``text`` (equal to ``start`` for an insertion)."""
    kind: str
    """The hole's kind for the generator: ``block`` or ``span``."""
    specification: str
    """The natural-language intent (a comment, a docstring or a TODO), or ``""``."""
    edit_start: int
    """Start of the replaced span in the buffer."""
    edit_end: int
    """End of the replaced span in the buffer."""
    before: str = ""
    """Inserted before the candidate (a line break and indentation when a line is opened)."""
    after: str = ""
    """Inserted after the candidate."""

    def edit(self, candidate: str) -> tuple[int, int, str]:
        """The buffer span ``(start, end)`` to replace and its new text, for ``candidate``."""
        return self.edit_start, self.edit_end, self.before + candidate + self.after


def available_actions(text: str, start: int, end: int, language: str | None) -> list[str]:
    """The actions that apply to the range ``[start, end)``, in :data:`ACTIONS` order."""
    return [name for name in ACTIONS if plan_action(name, text, start, end, language) is not None]


def plan_action(action: str, text: str, start: int, end: int,
                language: str | None) -> ActionPlan | None:
    """The plan for ``action`` on the range ``[start, end)``, or ``None`` when it does not apply.

    Parameters
    ----------
    action
        One of :data:`ACTIONS`.
    text
        The whole buffer.
    start, end
        The cursor (``start == end``) or the selection, as code point offsets.
    language
        The LSP language id, or ``None`` when unknown.
    """
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"range [{start}, {end}) is outside the text of length {len(text)}")
    planners = {GENERATE: _plan_generate, FILL_BODY: _plan_fill_body,
                REGENERATE: _plan_regenerate, REPAIR: _plan_repair}
    if action not in planners:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    return planners[action](text, start, end, language)


# -- Generate from comment -------------------------------------------------------------------


def _is_comment(lines: Lines, row: int, language: str | None) -> bool:
    stripped = lines.content(row).lstrip()
    return bool(stripped) and stripped.startswith(comment_markers(language))


def _strip_comment(line: str, language: str | None) -> str:
    stripped = line.strip()
    for marker in sorted(comment_markers(language), key=len, reverse=True):
        if stripped.startswith(marker):
            stripped = stripped[len(marker):]
            break
    return stripped.removesuffix("*/").strip()


def _comment_block(lines: Lines, row: int, language: str | None) -> tuple[int, int] | None:
    """The rows ``(first, last)`` of the comment block at ``row``, or ending just above it."""
    if not _is_comment(lines, row, language):
        if row == 0 or not lines.is_blank(row) or not _is_comment(lines, row - 1, language):
            return None
        row -= 1
    first = last = row
    while first > 0 and _is_comment(lines, first - 1, language):
        first -= 1
    while last + 1 < len(lines) and _is_comment(lines, last + 1, language):
        last += 1
    return first, last


def _docstring_block(lines: Lines, row: int, language: str | None) -> tuple[int, int, str] | None:
    """A Python string statement at ``row`` or ending just above it: ``(first, last, text)``."""
    tree = syntax.parse(lines.text, "python") if language == "python" else None
    if tree is None:
        return None
    above = row - 1 if row > 0 and lines.is_blank(row) else row
    for node in syntax.walk(tree.root_node):
        if node.type != "expression_statement" or node.named_child_count != 1:
            continue
        string = node.named_children[0]
        if string.type == "string" and node.start_point[0] <= above <= node.end_point[0]:
            if above != row and node.end_point[0] != above:
                continue
            return node.start_point[0], node.end_point[0], syntax.string_content(string)
    return None


def _plan_generate(text: str, start: int, end: int, language: str | None) -> ActionPlan | None:
    lines = Lines(text)
    row = lines.row(start)
    comment = _comment_block(lines, row, language)
    if comment is not None:
        first, last = comment
        spec = "\n".join(_strip_comment(lines.content(r), language) for r in range(first, last + 1))
    else:
        docstring = _docstring_block(lines, row, language)
        if docstring is None:
            return None
        first, last, spec = docstring
    spec = spec.strip()
    if not spec:
        return None
    indent = lines.indent(first)
    if row > last:  # the cursor is on the blank line just below
        return _fill_blank_line(GENERATE, lines, row, indent, spec)
    if last + 1 < len(lines) and lines.is_blank(last + 1):
        return _fill_blank_line(GENERATE, lines, last + 1, indent, spec)
    return _open_line_after(GENERATE, lines, last, indent, spec)


def _fill_blank_line(action: str, lines: Lines, row: int, indent: str, spec: str) -> ActionPlan:
    """Write the code on the blank line ``row``, at ``indent``."""
    begin, finish = lines.start(row), lines.end(row)
    text = lines.text[:begin] + indent + lines.text[finish:]
    hole = begin + len(indent)
    return ActionPlan(action, text, hole, hole, "block", spec, begin, finish, before=indent)


def _open_line_after(action: str, lines: Lines, row: int, indent: str, spec: str) -> ActionPlan:
    """Open a new line after ``row`` and write the code there, at ``indent``."""
    point = lines.end(row)
    opened = lines.newline + indent
    text = lines.text[:point] + opened + lines.text[point:]
    hole = point + len(opened)
    return ActionPlan(action, text, hole, hole, "block", spec, point, point, before=opened)


# -- Fill in body ------------------------------------------------------------------------------


def _plan_fill_body(text: str, start: int, end: int, language: str | None) -> ActionPlan | None:
    if language == "python":
        return _python_stub_body(text, start)
    return _braced_todo_body(text, start, language)


def _python_stub_body(text: str, offset: int) -> ActionPlan | None:
    """The body of the innermost def/class around ``offset`` when it is a stub."""
    tree = syntax.parse(text, "python")
    if tree is None:
        return None
    lines = Lines(text)
    row = lines.row(offset)
    for node in _enclosing_definitions(tree.root_node, lines, row):
        span = _stub_span(node, lines)
        if span is not None:
            begin, finish, spec = span
            return ActionPlan(FILL_BODY, text, begin, finish, "block", spec, begin, finish)
        return None
    return None


def _enclosing_definitions(root: Any, lines: Lines, row: int) -> list[Any]:
    """Function and class definitions whose header or indented body holds ``row``, innermost
    first. The body is taken by indentation, since a body that is only a comment is not part
    of the definition's node in tree-sitter's tree."""
    found = []
    for node in syntax.walk(root):
        if node.type not in ("function_definition", "class_definition"):
            continue
        if node.start_point[0] <= row <= _body_last_row(node, lines):
            found.append(node)
    return sorted(found, key=lambda n: n.start_point[0], reverse=True)


def _colon(node: Any) -> Any | None:
    return next((c for c in node.children if c.type == ":"), None)


def _body_last_row(node: Any, lines: Lines) -> int:
    colon = _colon(node)
    if colon is None:
        return node.end_point[0]
    header_row = colon.end_point[0]
    base = len(lines.indent(node.start_point[0]))
    last = header_row
    for row in range(header_row + 1, len(lines)):
        if lines.is_blank(row):
            continue
        if len(lines.indent(row)) <= base:
            break
        last = row
    return last


def _stub_span(node: Any, lines: Lines) -> tuple[int, int, str] | None:
    """``(start, end, specification)`` of a body that is ``pass``, ``...`` or a TODO."""
    colon = _colon(node)
    if colon is None:
        return None
    body_start = syntax.char_offset(lines.text, colon.end_byte)
    spec = ""
    block = node.child_by_field_name("body")
    first = block.named_children[0] if block is not None and block.named_children else None
    if first is not None and first.type == "expression_statement" and \
            first.named_children and first.named_children[0].type == "string":
        spec = syntax.string_content(first.named_children[0])
        body_start = syntax.char_offset(lines.text, first.end_byte)
    body_end = lines.end(_body_last_row(node, lines))
    rest = lines.text[body_start:body_end]
    statements = [line.strip() for line in rest.splitlines() if line.strip()]
    if not statements or not all(_STUB_LINE.match(line) for line in statements):
        return None
    todos = [line for line in statements if "TODO" in line]
    has_stub = any(line.startswith(("pass", "...")) for line in statements)
    if not has_stub and not todos:
        return None
    if not spec and todos:
        spec = _todo_text(todos[0])
    offset = body_start + len(rest) - len(rest.lstrip())
    return offset, body_end, spec


def _todo_text(line: str) -> str:
    """What a ``TODO`` comment asks for: ``# TODO: sort them`` gives ``sort them``."""
    return line.split("TODO", 1)[1].lstrip(":- ").strip()


def _braced_todo_body(text: str, offset: int, language: str | None) -> ActionPlan | None:
    """A ``{ ... }`` block around ``offset`` that holds only comments, one of them a TODO."""
    open_at = text.rfind("{", 0, offset)
    close_at = text.find("}", offset)
    if open_at < 0 or close_at < 0:
        return None
    inner = text[open_at + 1:close_at]
    lines = [line.strip() for line in inner.splitlines() if line.strip()]
    markers = comment_markers(language)
    if not lines or not all(line.startswith(markers) for line in lines):
        return None
    todos = [line for line in lines if "TODO" in line]
    if not todos:
        return None
    begin = open_at + 1 + len(inner) - len(inner.lstrip())
    finish = open_at + 1 + len(inner.rstrip())
    spec = _todo_text(todos[0])
    return ActionPlan(FILL_BODY, text, begin, finish, "block", spec, begin, finish)


# -- Regenerate selection and repair ------------------------------------------------------------


def _plan_regenerate(text: str, start: int, end: int, language: str | None) -> ActionPlan | None:
    if start == end:
        return None
    return ActionPlan(REGENERATE, text, start, end, "span", "", start, end)


def _plan_repair(text: str, start: int, end: int, language: str | None) -> ActionPlan | None:
    spans = syntax.error_spans(text, language)
    if not spans:
        return None
    lines = Lines(text)
    first_row, last_row = lines.row(start), lines.row(end)
    best: tuple[int, int, int] | None = None
    for err_start, err_end in spans:
        err_first, err_last = lines.row(err_start), lines.row(err_end)
        distance = max(err_first - last_row, first_row - err_last, 0)
        if distance <= REPAIR_REACH and (best is None or distance < best[0]):
            best = (distance, err_first, err_last)
    if best is None:
        return None
    _, err_first, err_last = best
    row_from = max(err_first, first_row - REPAIR_REACH)
    row_to = max(row_from, min(err_last, last_row + REPAIR_REACH))
    begin = lines.start(row_from) + len(lines.indent(row_from))
    finish = max(begin, lines.end(row_to))
    return ActionPlan(REPAIR, text, begin, finish, "span", "", begin, finish)
