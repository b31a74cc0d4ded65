"""Plain-text helpers shared by the engine and the language server: the line index.

Offsets are Python ``str`` (code point) offsets. Lines end with ``\\n``, ``\\r\\n`` or ``\\r`` as
in LSP.
"""

from __future__ import annotations

import re
from bisect import bisect_right

LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Lines:
    """Line starts and ends of a text, with LSP's line terminators."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in LINE_BREAK.finditer(text)]

    def __len__(self) -> int:
        return len(self.starts)

    def row(self, offset: int) -> int:
        """The 0-based line that holds ``offset``."""
        return bisect_right(self.starts, offset) - 1

    def start(self, row: int) -> int:
        return self.starts[row]

    def end(self, row: int) -> int:
        """Offset of the end of ``row``'s content (before its line terminator)."""
        if row + 1 >= len(self.starts):
            return len(self.text)
        end = self.starts[row + 1]
        while end > self.starts[row] and self.text[end - 1] in "\r\n":
            end -= 1
        return end

    def content(self, row: int) -> str:
        return self.text[self.start(row):self.end(row)]

    def indent(self, row: int) -> str:
        line = self.content(row)
        return line[: len(line) - len(line.lstrip(" \t"))]

    def is_blank(self, row: int) -> bool:
        return not self.content(row).strip()

    @property
    def newline(self) -> str:
        match = LINE_BREAK.search(self.text)
        return match.group() if match else "\n"
