"""Line-level helpers shared by the index and the draft finder.

Matching works on a file's *non-blank lines, stripped*: indentation and blank lines do not stop
two places from matching. A line is identified by a 32-bit hash of its stripped text (Python's
string hash, stable within a process, which is where the index lives; results depend on it only
through collisions, about one in 4 billion pairs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")


def line_hash(stripped: str) -> int:
    """The 32-bit hash of a stripped line (stable within the process)."""
    return hash(stripped) & 0xFFFFFFFF


def indentation(line: str) -> str:
    """The leading whitespace of ``line``."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def words(stripped: str) -> list[str]:
    """Identifiers and single punctuation characters of a line, in order."""
    return _IDENTIFIER.findall(stripped)


@dataclass(frozen=True)
class Lines:
    """The non-blank lines of one text: their stripped form, hash, line number and raw text."""

    raw: tuple[str, ...]
    """Every line of the text, without line ends."""
    numbers: tuple[int, ...]
    """0-based line number of each non-blank line."""
    stripped: tuple[str, ...]
    hashes: tuple[int, ...]

    @classmethod
    def of(cls, text: str, hashes: list[int] | None = None) -> Lines:
        """The lines of ``text``; ``hashes`` saves hashing when the caller has them."""
        raw = tuple(text.split("\n"))
        every = [line.strip() for line in raw]
        numbers = tuple(number for number, content in enumerate(every) if content)
        stripped = tuple(every[number] for number in numbers)
        if hashes is None:
            hashes = [hash(content) & 0xFFFFFFFF for content in stripped]
        return cls(raw, numbers, stripped, tuple(hashes))

    def __len__(self) -> int:
        return len(self.stripped)

    def line_text(self, index: int) -> str:
        """The raw text (indentation kept) of non-blank line ``index``."""
        return self.raw[self.numbers[index]]
