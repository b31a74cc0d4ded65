"""Line-level helpers shared by the index and the draft finder.

Matching works on a file's *non-blank lines, stripped*: indentation and blank lines do not stop
two places from matching. A line is identified by a 32-bit hash of its stripped text and, for
"rest of line" lookups, by a 32-bit key made of its first four UTF-8 bytes.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

HEAD_BYTES = 4
"""How many leading bytes of a stripped line make its head key."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")


def line_hash(stripped: str) -> int:
    """A deterministic 32-bit hash of a stripped line (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(stripped.encode("utf-8", "surrogatepass"))


def head_key(stripped: str) -> int:
    """The first ``HEAD_BYTES`` UTF-8 bytes of ``stripped`` as a big-endian integer, padded
    with zero bytes. Lines starting with a given head of ≥ 4 bytes share this key."""
    raw = stripped.encode("utf-8", "surrogatepass")[:HEAD_BYTES]
    return int.from_bytes(raw.ljust(HEAD_BYTES, b"\0"), "big")


def head_range(head: str) -> tuple[int, int]:
    """The inclusive key range of every line whose stripped text starts with ``head``."""
    raw = head.encode("utf-8", "surrogatepass")[:HEAD_BYTES]
    return (int.from_bytes(raw.ljust(HEAD_BYTES, b"\0"), "big"),
            int.from_bytes(raw.ljust(HEAD_BYTES, b"\xff"), "big"))


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
    def of(cls, text: str) -> Lines:
        raw = tuple(text.split("\n"))
        numbers, stripped = [], []
        for number, line in enumerate(raw):
            content = line.strip()
            if content:
                numbers.append(number)
                stripped.append(content)
        return cls(raw, tuple(numbers), tuple(stripped), tuple(map(line_hash, stripped)))

    def __len__(self) -> int:
        return len(self.stripped)

    def line_text(self, index: int) -> str:
        """The raw text (indentation kept) of non-blank line ``index``."""
        return self.raw[self.numbers[index]]
