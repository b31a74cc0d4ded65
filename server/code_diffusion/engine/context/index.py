"""``WorkspaceIndex``: the texts of a workspace, indexed by line for draft matching.

Each file keeps its text zlib-compressed and one 32-bit key per non-blank line, the hash of the
stripped line. A look-up is a binary search through the keys' sorted order, so it costs
O(log n + matches) whatever the workspace size: 8 bytes a line in all (the key and its place in
the order), plus the compressed text.

Updates are incremental: a changed file gets a new entry in a small *fresh* layer, scanned
directly by look-ups, and its old entry is marked dead in the *base* layer (O(size of the file)).
A look-up that finds more than ``FRESH_FILES`` fresh files first merges both layers into a new
base, so a bulk load costs one merge and editing one file never triggers one. The index
holds only the texts handed to it: it never reads a file itself.

It is safe to share between threads (the language server updates it on its event loop and its
indexing thread while the model thread looks lines up): every method holds one re-entrant lock.
"""

from __future__ import annotations

import sys
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from code_diffusion.engine.context.lines import Lines, line_hash

FRESH_FILES = 64
"""A look-up first merges the fresh layer into the base if it holds more files than this."""
LINES_CACHED = 64
"""Decompressed files kept for the next look-ups."""
MAX_POSTINGS = 4096
"""A key with more occurrences than this (``return``, ``)``) is not used to look up places."""


@dataclass
class IndexedFile:
    """One file of the index: its compressed text and its line keys."""

    path: str
    packed: bytes
    hashes: np.ndarray
    """uint32 hash of each non-blank stripped line, in order."""
    size: int
    """Length of the text in characters."""

    @classmethod
    def of(cls, path: str, text: str) -> IndexedFile:
        lines = Lines.of(text)
        return cls(path, zlib.compress(text.encode("utf-8", "surrogatepass"), 6),
                   np.fromiter(lines.hashes, np.uint32, len(lines)), len(text))

    @property
    def text(self) -> str:
        return zlib.decompress(self.packed).decode("utf-8", "surrogatepass")

    def lines(self) -> Lines:
        """The file's lines, decompressed (``WorkspaceIndex.lines`` caches the last few)."""
        return Lines.of(self.text, self.hashes.tolist())


class _Layer:
    """Sorted keys of a set of files, with the file and line index of each key."""

    def __init__(self, files: list[IndexedFile]) -> None:
        self.files: list[IndexedFile | None] = list(files)
        counts = np.fromiter((len(f.hashes) for f in files), np.int64, len(files))
        self.starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.lines = int(self.starts[-1])
        hashes = np.concatenate([f.hashes for f in files]) if files else np.zeros(0, np.uint32)
        for number, item in enumerate(files):  # the files share the layer's array
            item.hashes = hashes[self.starts[number]: self.starts[number + 1]]
        self.hashes = hashes
        self.hash_order = np.argsort(hashes, kind="stable").astype(np.uint32)

    def _bound(self, key: int, upper: bool) -> int:
        """Binary search over the keys in sorted order, read through ``hash_order`` (no sorted
        copy is kept: 4 bytes a line saved for ~20 array reads a look-up)."""
        low, high = 0, self.lines
        hashes, order = self.hashes, self.hash_order
        while low < high:
            middle = (low + high) // 2
            value = int(hashes[order[middle]])
            if value < key or (upper and value == key):
                low = middle + 1
            else:
                high = middle
        return low

    def find(self, key: int, limit: int) -> Iterator[tuple[IndexedFile, int]]:
        start, stop = self._bound(key, False), self._bound(key, True)
        if stop - start > limit:
            return
        where = self.hash_order[start:stop].astype(np.int64)
        owners = np.searchsorted(self.starts, where, "right") - 1
        for position, owner in zip(where.tolist(), owners.tolist(), strict=True):
            item = self.files[owner]
            if item is not None:
                yield item, position - int(self.starts[owner])

    def nbytes(self) -> int:
        return int(self.starts.nbytes + self.hash_order.nbytes + self.hashes.nbytes)


class WorkspaceIndex:
    """Texts by path, indexed for line look-ups. Paths are opaque strings (e.g. relative paths
    or URIs); the index never opens them."""

    def __init__(self) -> None:
        self._files: dict[str, IndexedFile] = {}
        self._base = _Layer([])
        self._base_slot: dict[str, int] = {}
        self._fresh: dict[str, IndexedFile] = {}
        self._fresh_lines = 0
        self._decompressed: OrderedDict[str, tuple[IndexedFile, Lines]] = OrderedDict()
        self._lock = threading.RLock()

    # --- contents --------------------------------------------------------------------------
    def update(self, path: str, text: str) -> None:
        """Add or replace ``path``'s text (costs O(len(text)), plus amortised merges)."""
        if not isinstance(text, str):
            raise TypeError(f"WorkspaceIndex.update({path!r}): text must be str, "
                            f"got {type(text).__name__}")
        item = IndexedFile.of(path, text)  # the costly part, outside the lock
        with self._lock:
            self.remove(path)
            self._files[path] = item
            self._fresh[path] = item
            self._fresh_lines += len(item.hashes)

    def remove(self, path: str) -> None:
        """Forget ``path`` (no error if it is not indexed)."""
        with self._lock:
            if self._files.pop(path, None) is None:
                return
            self._decompressed.pop(path, None)
            fresh = self._fresh.pop(path, None)
            if fresh is not None:
                self._fresh_lines -= len(fresh.hashes)
            slot = self._base_slot.pop(path, None)
            if slot is not None:
                self._base.files[slot] = None

    def compact(self) -> None:
        """Merge the fresh layer into the base now (look-ups do it when it grows large)."""
        with self._lock:
            if self._fresh:
                self._merge()

    def _merge(self) -> None:
        files = sorted(self._files.values(), key=lambda item: item.path)
        self._base = _Layer(files)
        self._base_slot = {item.path: slot for slot, item in enumerate(files)}
        self._fresh.clear()
        self._fresh_lines = 0

    def lines(self, item: IndexedFile) -> Lines:
        """``item``'s lines, from a small cache of recently decompressed files."""
        with self._lock:
            cached = self._decompressed.get(item.path)
            if cached is not None and cached[0] is item:
                self._decompressed.move_to_end(item.path)
                return cached[1]
            lines = item.lines()
            self._decompressed[item.path] = (item, lines)
            while len(self._decompressed) > LINES_CACHED:
                self._decompressed.popitem(last=False)
            return lines

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._files)

    def get(self, path: str) -> IndexedFile | None:
        with self._lock:
            return self._files.get(path)

    def text(self, path: str) -> str:
        """The text held for ``path`` (``KeyError`` if it is not indexed)."""
        with self._lock:
            item = self._files[path]
        return item.text

    def __contains__(self, path: object) -> bool:
        with self._lock:
            return path in self._files

    @property
    def file_count(self) -> int:
        with self._lock:
            return len(self._files)

    def memory_bytes(self) -> int:
        """Approximate bytes held: compressed texts, key arrays, sorted orders, per-file
        objects and the few decompressed files cached."""
        with self._lock:
            total = self._base.nbytes() + 64 * len(self._base_slot)
            for item in self._files.values():
                total += sys.getsizeof(item.packed) + 200 + len(item.path)
                if item.path in self._fresh:
                    total += item.hashes.nbytes
            for _, lines in self._decompressed.values():
                total += 3 * sum(map(sys.getsizeof, lines.raw))
            return total

    # --- look-ups --------------------------------------------------------------------------
    def find_line(self, stripped: str, limit: int = MAX_POSTINGS
                  ) -> list[tuple[IndexedFile, int]]:
        """Every (file, non-blank line index) whose stripped line is ``stripped``; empty when
        the line occurs more than ``limit`` times (too common to say where to look)."""
        key = line_hash(stripped)
        with self._lock:
            if len(self._fresh) > FRESH_FILES:
                self._merge()
            found = list(self._base.find(key, limit))
            for item in self._fresh.values():
                found.extend((item, int(i)) for i in np.flatnonzero(item.hashes == key))
        return found if len(found) <= limit else []
