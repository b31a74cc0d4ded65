"""``WorkspaceIndex``: the texts of a workspace, indexed by line for draft matching.

Each file keeps its text zlib-compressed and two 32-bit keys per non-blank line: the hash of the
stripped line and its head key (first four bytes). Look-ups go through sorted arrays (one
``searchsorted`` per key), so a query costs O(log n + matches) whatever the workspace size.

Updates are incremental: a changed file gets a new entry in a small *fresh* layer, scanned
directly by look-ups, and its old entry is marked dead in the *base* layer (O(size of the file)).
A look-up that finds more than ``FRESH_FILES`` fresh files first merges both layers into a new
base, so a bulk load costs one merge and editing one file never triggers one. The index
holds only the texts handed to it: it never reads a file itself.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from code_diffusion.engine.context.lines import Lines, head_key, head_range, line_hash

FRESH_FILES = 64
"""A look-up first merges the fresh layer into the base if it holds more files than this."""
MAX_POSTINGS = 4096
"""A key with more occurrences than this (``return``, ``)``) is not used to look up places."""


@dataclass
class IndexedFile:
    """One file of the index: its compressed text and its line keys."""

    path: str
    packed: bytes
    hashes: np.ndarray
    """uint32 hash of each non-blank stripped line, in order."""
    heads: np.ndarray
    """uint32 head key of each non-blank stripped line."""
    size: int
    """Length of the text in characters."""
    _lines: Lines | None = field(default=None, repr=False)

    @classmethod
    def of(cls, path: str, text: str) -> IndexedFile:
        lines = Lines.of(text)
        return cls(path, zlib.compress(text.encode("utf-8", "surrogatepass"), 1),
                   np.fromiter(lines.hashes, np.uint32, len(lines)),
                   np.fromiter(map(head_key, lines.stripped), np.uint32, len(lines)),
                   len(text))

    @property
    def text(self) -> str:
        return zlib.decompress(self.packed).decode("utf-8", "surrogatepass")

    def lines(self) -> Lines:
        """The file's lines (decompressed on demand; drop with :meth:`forget`)."""
        if self._lines is None:
            self._lines = Lines.of(self.text)
        return self._lines

    def forget(self) -> None:
        self._lines = None


class _Layer:
    """Sorted keys of a set of files, with the file and line index of each key."""

    def __init__(self, files: list[IndexedFile]) -> None:
        self.files: list[IndexedFile | None] = list(files)
        counts = np.fromiter((len(f.hashes) for f in files), np.int64, len(files))
        self.starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.lines = int(self.starts[-1])
        hashes = np.concatenate([f.hashes for f in files]) if files else np.zeros(0, np.uint32)
        heads = np.concatenate([f.heads for f in files]) if files else np.zeros(0, np.uint32)
        for number, item in enumerate(files):  # the files share the layer's arrays
            item.hashes = hashes[self.starts[number]: self.starts[number + 1]]
            item.heads = heads[self.starts[number]: self.starts[number + 1]]
        self.hash_order = np.argsort(hashes, kind="stable").astype(np.uint32)
        self.hash_sorted = hashes[self.hash_order]
        self.head_order = np.argsort(heads, kind="stable").astype(np.uint32)
        self.head_sorted = heads[self.head_order]

    def find(self, sorted_keys: np.ndarray, order: np.ndarray, low: int, high: int,
             limit: int) -> Iterator[tuple[IndexedFile, int]]:
        start = int(np.searchsorted(sorted_keys, low, "left"))
        stop = int(np.searchsorted(sorted_keys, high, "right"))
        if stop - start > limit:
            return
        where = order[start:stop].astype(np.int64)
        owners = np.searchsorted(self.starts, where, "right") - 1
        for position, owner in zip(where.tolist(), owners.tolist(), strict=True):
            item = self.files[owner]
            if item is not None:
                yield item, position - int(self.starts[owner])

    def nbytes(self) -> int:
        return int(self.starts.nbytes + self.hash_order.nbytes + self.hash_sorted.nbytes
                   + self.head_order.nbytes + self.head_sorted.nbytes + 2 * 4 * self.lines)


class WorkspaceIndex:
    """Texts by path, indexed for line look-ups. Paths are opaque strings (e.g. relative paths
    or URIs); the index never opens them."""

    def __init__(self) -> None:
        self._files: dict[str, IndexedFile] = {}
        self._base = _Layer([])
        self._base_slot: dict[str, int] = {}
        self._fresh: dict[str, IndexedFile] = {}
        self._fresh_lines = 0

    # --- contents --------------------------------------------------------------------------
    def update(self, path: str, text: str) -> None:
        """Add or replace ``path``'s text (costs O(len(text)), plus amortised merges)."""
        if not isinstance(text, str):
            raise TypeError(f"WorkspaceIndex.update({path!r}): text must be str, "
                            f"got {type(text).__name__}")
        self.remove(path)
        item = IndexedFile.of(path, text)
        self._files[path] = item
        self._fresh[path] = item
        self._fresh_lines += len(item.hashes)

    def remove(self, path: str) -> None:
        """Forget ``path`` (no error if it is not indexed)."""
        if self._files.pop(path, None) is None:
            return
        fresh = self._fresh.pop(path, None)
        if fresh is not None:
            self._fresh_lines -= len(fresh.hashes)
        slot = self._base_slot.pop(path, None)
        if slot is not None:
            self._base.files[slot] = None

    def compact(self) -> None:
        """Merge the fresh layer into the base now (look-ups do it when it grows large)."""
        if self._fresh:
            self._merge()

    def _merge(self) -> None:
        files = sorted(self._files.values(), key=lambda item: item.path)
        self._base = _Layer(files)
        self._base_slot = {item.path: slot for slot, item in enumerate(files)}
        self._fresh.clear()
        self._fresh_lines = 0

    def paths(self) -> list[str]:
        return sorted(self._files)

    def get(self, path: str) -> IndexedFile | None:
        return self._files.get(path)

    def text(self, path: str) -> str:
        """The text held for ``path`` (``KeyError`` if it is not indexed)."""
        return self._files[path].text

    def __contains__(self, path: object) -> bool:
        return path in self._files

    @property
    def file_count(self) -> int:
        return len(self._files)

    def memory_bytes(self) -> int:
        """Approximate bytes held: compressed texts, key arrays, sorted orders and per-file
        objects (decompressed line caches included)."""
        total = self._base.nbytes() + 64 * len(self._base_slot)
        for item in self._files.values():
            total += sys.getsizeof(item.packed) + 200 + len(item.path)
            if item.path in self._fresh:
                total += item.hashes.nbytes + item.heads.nbytes
            if item._lines is not None:
                total += sum(map(sys.getsizeof, item._lines.raw)) * 2
        return total

    # --- look-ups --------------------------------------------------------------------------
    def find_line(self, stripped: str, limit: int = MAX_POSTINGS
                  ) -> list[tuple[IndexedFile, int]]:
        """Every (file, non-blank line index) whose stripped line is ``stripped``; empty when
        the line occurs more than ``limit`` times (too common to say where to look)."""
        key = line_hash(stripped)
        if len(self._fresh) > FRESH_FILES:
            self._merge()
        found = list(self._base.find(self._base.hash_sorted, self._base.hash_order,
                                     key, key, limit))
        for item in self._fresh.values():
            found.extend((item, int(i)) for i in np.flatnonzero(item.hashes == key))
        return found if len(found) <= limit else []

    def find_head(self, head: str, limit: int = MAX_POSTINGS
                  ) -> list[tuple[IndexedFile, int]]:
        """Candidate (file, line index) pairs whose stripped line may start with ``head``
        (the first four bytes match; callers check the rest)."""
        low, high = head_range(head)
        if len(self._fresh) > FRESH_FILES:
            self._merge()
        found = list(self._base.find(self._base.head_sorted, self._base.head_order,
                                     low, high, limit))
        for item in self._fresh.values():
            hits = np.flatnonzero((item.heads >= low) & (item.heads <= high))
            found.extend((item, int(i)) for i in hits)
        return found if len(found) <= limit else []
