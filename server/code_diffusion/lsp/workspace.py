"""The workspace index of the server: the workspace folders' files and the open documents.

:class:`WorkspaceFiles` keeps one :class:`~code_diffusion.engine.context.WorkspaceIndex` that
every fill reads (docs/server.md, "The workspace index"):

* **Building** runs on its own thread (``code-diffusion-index``), 64 files at a time, into a
  private index that replaces the one in use when it is complete; so neither the event loop
  nor a completion waits for it, and completions meanwhile use the open documents. It pauses
  while the model loads or writes, so it never competes with them for the interpreter. It reads the
  files of the languages in use (Python, and the languages of the documents opened) through
  :mod:`code_diffusion.lsp.scan`, and stops at ``maxFiles`` with one log line.
* **Open documents** are always in the index with their buffer text (a change is taken when
  the next fill starts); closed, a file of a workspace folder goes back to its disk text.
* **Files changed on disk** (``workspace/didChangeWatchedFiles``) are read again on the thread;
  a ``.gitignore`` change or a change of workspace folders or settings builds the index again.

Keys are paths relative to the workspace folder (prefixed with the folder's name when there
are several folders), and absolute paths for open documents outside every folder: the same
string is the ``path`` a fill passes, so the document's own copy is never a draft of itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_diffusion.engine.context import WorkspaceIndex
from code_diffusion.lsp.scan import Skipped, ignored_path, read_text, suffixes_for, walk

log = logging.getLogger(__name__)
CHUNK = 64
"""Files read between two looks at the other jobs (file events, a newer build)."""
PAUSE_SECONDS = 0.02
"""How often a paused build looks whether it may go on."""
Job = Callable[[], "Job | None"]
"""A job of the index thread; it may return its own continuation."""


@dataclass(frozen=True)
class Folder:
    """A workspace folder: its path as the client names it, its real path, and its name."""

    path: Path
    real: Path
    name: str


@dataclass(frozen=True)
class Limits:
    """What the index reads (the ``codeDiffusion.context.*`` settings)."""

    workspace: bool = True
    max_files: int = 10_000
    max_file_bytes: int = 1_000_000


def uri_path(uri: str) -> Path | None:
    """The filesystem path of a ``file:`` URI (``None`` for any other scheme)."""
    from pygls.uris import to_fs_path

    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(os.path.normpath(path)) if path else None


class WorkspaceFiles:
    """The server's workspace index and what keeps it current. Every public method but
    :meth:`status` runs on the event loop."""

    def __init__(self, notify: Callable[[], None] | None = None,
                 pause: Callable[[], bool] | None = None) -> None:
        self.index = WorkspaceIndex()
        self.limits = Limits()
        self.folders: list[Folder] = []
        self.languages: set[str] = {"python"}
        self.indexing = False
        self.last_sent: dict[str, Any] | None = None
        """The ``workspace`` object of the last status sent (lsp/status.py)."""
        self._notify = notify or (lambda: None)
        self._pause = pause or (lambda: False)
        """True while a build should wait (the model loads or writes: it goes first)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._build = 0
        """The current build; an older one stops at its next chunk."""
        self._texts: dict[str, str] = {}
        """Open documents by key: their buffer text as last taken."""
        self._open: dict[str, str] = {}
        """Open documents by URI: their key."""
        self._changed: set[str] = set()
        """URIs of open documents changed since their text was last taken."""
        self._reread: set[str] = set()
        """Keys changed on disk while a build runs: read again once it is in use."""

    # -- the event loop's side -----------------------------------------------------------------
    def start(self, folders: list[tuple[str, str]], limits: Limits) -> None:
        """Index ``folders`` (``(uri, name)`` pairs) with ``limits``: a new build."""
        self._loop = asyncio.get_running_loop()
        self.folders = []
        for uri, name in folders:
            path = uri_path(uri)
            if path is None:
                log.info("workspace index: folder %s skipped: not a file: URI", uri)
            elif not path.is_dir():
                log.info("workspace index: folder %s skipped: not a folder on disk", path)
            else:
                self.folders.append(Folder(path, Path(os.path.realpath(path)), name))
        with self._lock:  # keys depend on the folders: the open documents' keys again
            uris = {key: uri for uri, key in self._open.items()}
            self._open = {uri: self.key(uri) or key for uri, key in self._open.items()}
            self._texts = {self._open[uris[key]]: text for key, text in self._texts.items()
                           if key in uris}
        self.limits = limits
        self.rebuild()

    def configure(self, limits: Limits) -> None:
        """New settings: build again if they change what is read."""
        changed, self.limits = limits != self.limits, limits
        if changed and self._loop is not None:
            self.rebuild()

    def rebuild(self) -> None:
        with self._lock:
            self._build += 1
            build = self._build
            self.indexing = bool(self.folders and self.limits.workspace)
        self._put(self._builder(build))
        self._notify()

    def key(self, uri: str) -> str | None:
        """The index key of ``uri`` (``None`` for a URI that is not a ``file:`` one)."""
        path = uri_path(uri)
        if path is None:
            return None
        found = self._folder_of(path)
        if found is None:
            return path.as_posix()
        folder, relative = found
        return relative if len(self.folders) == 1 else f"{folder.name}/{relative}"

    def opened(self, uri: str, language: str | None, text: str) -> None:
        key = self.key(uri)
        if key is None:
            return
        self._open[uri] = key
        self._take(key, text)
        if language and language not in self.languages:
            before = suffixes_for(self.languages)
            self.languages.add(language)
            if suffixes_for(self.languages) != before and self.folders:
                log.info("workspace index: %s files added to the index", language)
                self.rebuild()

    def changed(self, uri: str) -> None:
        if uri in self._open:
            self._changed.add(uri)

    def sync(self, texts: Callable[[str], str | None]) -> None:
        """Take the buffer text (``texts(uri)``) of every open document changed since."""
        for uri in sorted(self._changed):
            text = texts(uri)
            if text is not None and uri in self._open:
                self._take(self._open[uri], text)
        self._changed.clear()

    def closed(self, uri: str) -> None:
        key = self._open.pop(uri, None)
        self._changed.discard(uri)
        if key is None:
            return
        with self._lock:
            self._texts.pop(key, None)
        path = uri_path(uri)
        if (path is not None and self.limits.workspace and self._folder_of(path) is not None
                and path.name.endswith(suffixes_for(self.languages))):
            self._put(lambda: self._read(key, path))
        else:
            self.index.remove(key)
            self._notify()

    def files_changed(self, changes: list[tuple[str, bool]]) -> None:
        """``(uri, deleted)`` pairs from ``workspace/didChangeWatchedFiles``."""
        if not self.limits.workspace:
            return
        for uri, deleted in changes:
            path = uri_path(uri)
            if path is None or self._folder_of(path) is None:
                continue
            if path.name == ".gitignore":
                log.info("workspace index: %s changed; indexing again", path)
                self.rebuild()
                return
            key = self.key(uri)
            if key is None or key in self._texts or not path.name.endswith(
                    suffixes_for(self.languages)):
                continue  # an open document's buffer wins over its disk text
            self._put(lambda key=key, path=path, deleted=deleted: self._read(key, path, deleted))

    def status(self) -> dict[str, Any]:
        """The status notification's ``workspace`` object."""
        return {"files": self.index.file_count, "indexing": self.indexing}

    def stop(self) -> None:
        with self._lock:
            self._build += 1
        if self._thread is not None:
            self._jobs.put(None)

    def _take(self, key: str, text: str) -> None:
        with self._lock:
            self._texts[key] = text
            index = self.index
        index.update(key, text)  # a build finishing meanwhile takes the text from _texts

    def _folder_of(self, path: Path) -> tuple[Folder, str] | None:
        for folder in sorted(self.folders, key=lambda f: len(str(f.path)), reverse=True):
            for base in (folder.path, folder.real):
                if path == base or base in path.parents:
                    return folder, path.relative_to(base).as_posix()
        return None

    # -- the index thread ----------------------------------------------------------------------
    def _put(self, job: Job) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="code-diffusion-index",
                                            daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                follow = job()
            except Exception:  # a bug: the index keeps what it has, the server goes on
                log.exception("workspace index: a job failed")
                follow = None
            if follow is not None:
                self._jobs.put(follow)

    def _later(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody to tell
                loop.call_soon_threadsafe(callback)

    def _builder(self, build: int) -> Job:
        """The first step of build ``build``: a fresh index of every folder's files."""
        limits, languages = self.limits, set(self.languages)
        suffixes = suffixes_for(languages)
        folders = list(self.folders) if limits.workspace else []
        files = ((folder, found) for folder in folders for found in walk(folder.real, suffixes))
        new = WorkspaceIndex()
        began = time.perf_counter()
        counts = {"files": 0, "skipped": 0}

        def step() -> Job | None:
            if build != self._build:
                return None  # a newer build replaced this one
            for _ in range(CHUNK):
                item = next(files, None)
                if item is None:
                    self._install(new, build, counts, began)
                    return None
                if counts["files"] >= limits.max_files:
                    log.info("workspace index: stopped at the %s-file cap "
                             "(codeDiffusion.context.maxFiles); the rest of the workspace is "
                             "not indexed", f"{limits.max_files:,}")
                    self._install(new, build, counts, began)
                    return None
                while self._pause() and build == self._build:
                    time.sleep(PAUSE_SECONDS)
                folder, found = item
                key = found.relative if len(folders) == 1 else f"{folder.name}/{found.relative}"
                try:
                    new.update(key, read_text(found.path, folder.real, limits.max_file_bytes))
                    counts["files"] += 1
                except Skipped as why:
                    counts["skipped"] += 1
                    log.info("workspace index: %s skipped: %s", found.path, why)
                time.sleep(0)  # let the event loop and the model thread have the interpreter
            return step

        return step

    def _install(self, new: WorkspaceIndex, build: int, counts: dict[str, int],
                 began: float) -> None:
        new.compact()
        with self._lock:
            if build != self._build:
                return
            for key, text in self._texts.items():  # open documents win over their disk text
                new.update(key, text)
            self.index, reread, self._reread = new, self._reread, set()
            self.indexing = False
        if self.folders and self.limits.workspace:
            log.info("workspace index: %d files indexed in %.1f s (%d skipped)",
                     counts["files"], time.perf_counter() - began, counts["skipped"])
        for key in sorted(reread):
            found = self._path_of(key)
            if found is not None:
                self._read(key, found)
        self._later(self._notify)

    def _path_of(self, key: str) -> Path | None:
        if len(self.folders) == 1:
            return self.folders[0].path / key
        name, _, relative = key.partition("/")
        for folder in self.folders:
            if folder.name == name:
                return folder.path / relative
        return None

    def _read(self, key: str, path: Path, deleted: bool = False) -> None:
        """Take ``key``'s disk text (or forget it) unless it is an open document."""
        found = self._folder_of(path)
        with self._lock:
            if key in self._texts:
                return
            if self.indexing:
                self._reread.add(key)
            index = self.index
        if found is None or deleted or ignored_path(found[0].real, found[1]):
            index.remove(key)
        else:
            try:
                index.update(key, read_text(path, found[0].real, self.limits.max_file_bytes))
            except Skipped as why:
                log.info("workspace index: %s skipped: %s", path, why)
                index.remove(key)
        self._later(self._notify)


async def measure(root: str, max_files: int) -> dict[str, float]:
    """Build the index of folder ``root`` (at most ``max_files`` files) as the server does:
    the files, the seconds, ``memory_bytes()`` and the memory ``tracemalloc`` traced (MB)."""
    import tracemalloc

    tracemalloc.start()
    files = WorkspaceFiles()
    began = time.perf_counter()
    files.start([(Path(root).resolve().as_uri(), Path(root).name)], Limits(max_files=max_files))
    while files.indexing:
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - began
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"files": files.index.file_count, "seconds": round(seconds, 1),
            "memory_mb": round(files.index.memory_bytes() / 1e6, 1),
            "traced_mb": round(current / 1e6, 1), "peak_mb": round(peak / 1e6, 1)}

