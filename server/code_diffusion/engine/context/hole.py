"""The hole seen line by line, and the line comparisons drafts are scored with."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property

from code_diffusion.engine.context.lines import Lines, indentation

RUN_CAP = 16
"""Most lines a neighbourhood run looks at, above or below."""


@dataclass(frozen=True)
class Hole:
    """The hole seen line by line: what is typed before it and where its neighbours are."""

    lines: Lines
    """The document's non-blank lines with the hole's own lines removed."""
    at: int
    """Index in ``lines`` where the hole sits (lines ``[:at]`` are above it)."""
    head: str
    """Text of the hole's first line before the cursor (indentation included)."""
    tail: str
    """Text of the hole's last line after the hole."""
    first_line: int
    """The document's line number of the hole's first line."""
    removed: int
    """How many document lines the hole's lines take (they are not in ``lines``)."""

    @classmethod
    def of(cls, text: str, start: int, end: int) -> Hole:
        first = text.rfind("\n", 0, start) + 1
        last = text.find("\n", end)
        last = len(text) if last < 0 else last
        lines = Lines.of(text[:first] + text[last + 1:] if last < len(text) else text[:first])
        above = text.count("\n", 0, first)
        at = bisect.bisect_left(lines.numbers, above)
        removed = text.count("\n", first, last) + 1
        return cls(lines, at, text[first:start], text[end:last], above, removed)

    def document_line(self, number: int) -> int:
        """The document's line number of line ``number`` of ``lines``."""
        return number + self.removed if number >= self.first_line else number

    @property
    def typed(self) -> str:
        return self.head.lstrip(" \t")

    @property
    def indent(self) -> str:
        return indentation(self.head)

    @cached_property
    def up_keys(self) -> tuple[int, ...]:
        """Hashes of the lines above the hole, nearest first (at most ``RUN_CAP``)."""
        return self.lines.hashes[max(0, self.at - RUN_CAP): self.at][::-1]

    @cached_property
    def down_keys(self) -> tuple[int, ...]:
        return self.lines.hashes[self.at: self.at + RUN_CAP]

    @cached_property
    def indent_steps(self) -> tuple[int | None, int | None]:
        """Indentation of the neighbour above and below minus the hole's (``None``: no
        neighbour, or the cursor is at column 0 and the hole's indentation is unknown)."""
        if not self.head:
            return None, None
        ours = indent_width(self.head)
        above = (indent_width(self.lines.line_text(self.at - 1)) - ours
                 if self.at > 0 else None)
        below = (indent_width(self.lines.line_text(self.at)) - ours
                 if self.at < len(self.lines) else None)
        return above, below


def indent_width(line: str) -> int:
    """Width of the indentation, a tab counting 8."""
    indent = indentation(line)
    return len(indent) + 7 * indent.count("\t")


def run(hashes, start: int, step: int, wanted: tuple[int, ...], gaps: int = 0) -> int:
    """How many of ``wanted`` equal ``hashes`` from ``start`` on (walking by ``step``),
    stopping at the ``gaps + 1``-th mismatch; mismatched lines do not count."""
    count = misses = offset = 0
    position = start
    while offset < len(wanted) and 0 <= position < len(hashes):
        if hashes[position] == wanted[offset]:
            count += 1
        else:
            misses += 1
            if misses > gaps:
                break
        offset += 1
        position += step
    return count
