"""Names a candidate reads that nothing in the file defines, imports or mentions (Python).

A small model often writes a line that reads a name the file has never seen (``if dim:``,
``distance = di2``): it looks like code but fails with ``NameError`` when it runs. In Python a
name a module reads is a builtin or is bound in that module, so a name that occurs nowhere else
in the buffer, outside the hole's line, is a made-up one (a name bound by the candidate itself,
``for x in …``, ``y = …``, a ``def``'s parameters, is not read from elsewhere, though ``y += 1``
reads ``y``; names after a dot and keyword arguments are not names the module binds). The check
is off for a buffer with a ``from … import *`` (its names are not in the text) and for a line
that does not parse on its own (a continuation inside brackets opened above): it never guesses.

The line is parsed with :mod:`ast`, the candidate together with what the user typed before it and
what follows it on its line, and the names are those of the candidate's own span.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from functools import lru_cache

MODULE_NAMES = frozenset(dir(builtins)) | {
    "__file__", "__name__", "__doc__", "__spec__", "__loader__", "__package__", "__path__",
    "__builtins__", "__annotations__", "__cached__", "__class__", "__module__", "__qualname__",
    "__dict__"}
"""Names every module (and class body) has without binding them."""
IDENTIFIER = re.compile(r"[^\W\d]\w*")
STAR_IMPORT = re.compile(r"^[ \t]*from[ \t]+\S+[ \t]+import[ \t]+\*", re.MULTILINE)
HEADS = (("elif", "if 1:\n    pass\n"), ("else", "if 1:\n    pass\n"),
         ("except", "try:\n    pass\n"), ("finally", "try:\n    pass\n"))
"""Clauses that cannot start a statement: parsed after a statement they may follow."""


@dataclass(frozen=True)
class NameScope:
    """What the buffer around a hole knows: every identifier of the buffer but the candidate's
    (the text the hole replaces included), and the parts of the hole's line(s) before and after
    the hole."""

    known: frozenset[str]
    before: str
    """The hole's line up to the hole (typed by the user)."""
    after: str
    """The rest of the line after the hole."""

    @classmethod
    def of(cls, text: str, start: int, end: int, language: str | None) -> NameScope | None:
        """The scope of the hole ``text[start:end]``; ``None`` when the check does not apply
        (not Python, or a star import)."""
        if language != "python" or STAR_IMPORT.search(text):
            return None
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        before, after = text[line_start:start], text[end:line_end]
        # the text the candidate replaces (a selection being rewritten) counts as the file's,
        # and so does the rest of its line
        known = (_identifiers(text[:line_start]) | _identifiers(text[line_end:])
                 | frozenset(IDENTIFIER.findall(before + text[start:end] + after)))
        return cls(known | MODULE_NAMES, before, after)

    def unknown(self, candidate: str) -> list[str] | None:
        """The names ``candidate`` reads that the buffer never mentions, in order; ``None`` when
        its line does not parse on its own."""
        code = self.before + candidate + self.after
        parsed = _parse(code)
        if parsed is None:
            return None
        tree, shift, dedent = parsed
        span = (_position(code, len(self.before)), _position(code, len(code) - len(self.after)))
        bound, read = _names(tree)
        unknown: list[str] = []
        for node in read:
            line, column = node.lineno - 1 - shift, node.col_offset + dedent
            first, last = (line, column), (line, column + len(node.id))
            if last <= span[0] or first >= span[1]:
                continue  # the user's text, not the candidate's
            if node.id in self.known or node.id in bound:
                continue
            if node.id not in unknown:
                unknown.append(node.id)
        return unknown


@lru_cache(maxsize=8)
def _identifiers(text: str) -> frozenset[str]:
    """The identifiers of a part of the buffer; while the user types on one line, the parts
    above and below it do not change, and the next request finds them here."""
    return frozenset(IDENTIFIER.findall(text))


def _position(code: str, offset: int) -> tuple[int, int]:
    """(line, column) of ``offset`` in ``code``."""
    line = code.count("\n", 0, offset)
    return line, offset - (code.rfind("\n", 0, offset) + 1)


def _parse(code: str) -> tuple[ast.Module, int, int] | None:
    """``code`` parsed alone: the tree, the lines put before it, and the indentation removed
    (the same on every line, the first line's); ``None`` when it does not parse."""
    lines = code.split("\n")
    dedent = len(lines[0]) - len(lines[0].lstrip())
    if any(line.strip() and not line.startswith(lines[0][:dedent]) for line in lines):
        return None
    body = "\n".join(line[dedent:] for line in lines)
    head = next((wrap for word, wrap in HEADS if re.match(rf"{word}\b", body)), "")
    last = next((line for line in reversed(body.split("\n")) if line.strip()), "")
    tail = ""
    if last.rstrip().endswith(":"):
        tail = "\n" + last[: len(last) - len(last.lstrip())] + "    pass"
    try:
        tree = ast.parse(head + body + tail)
    except (SyntaxError, ValueError):
        return None
    return tree, head.count("\n"), dedent


def _names(tree: ast.AST) -> tuple[set[str], list[ast.Name]]:
    """The names ``tree`` binds, and the ``Name`` nodes it reads."""
    bound: set[str] = set()
    read: list[ast.Name] = []
    augmented = {id(node.target) for node in ast.walk(tree) if isinstance(node, ast.AugAssign)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) or id(node) in augmented:  # ``x += 1`` reads x
                read.append(node)
            else:
                bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                               ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
    return bound, read
