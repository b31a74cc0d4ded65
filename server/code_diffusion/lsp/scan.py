"""Reading a workspace folder's files for the workspace index, safely.

:func:`walk` yields the files of one folder that the index takes: the languages in use (by file
extension), not ignored by the folder's ``.gitignore`` files, and :func:`read_text` reads one.
The rules (docs/server.md, "The workspace index"):

* nothing outside the folder is ever opened: a symlinked file is read only when its target is
  inside the folder; a symlinked folder is never entered (so symlink loops cannot happen);
* ``.gitignore`` files are honoured at every level (with ``pathspec``'s implementation of git's
  rules); ``.git/info/exclude`` and the user's global excludes are not read; hidden folders,
  ``node_modules`` and ``__pycache__`` are skipped;
* binaries (a NUL byte), files over the byte cap, non-UTF-8 files, anything but a regular file
  (a FIFO is never opened for blocking reads), and files that vanish or cannot be read are
  skipped, each with one log line.

No LSP types here: paths in, texts out.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

log = logging.getLogger(__name__)

LANGUAGE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi"), "javascript": (".js", ".mjs", ".cjs"),
    "javascriptreact": (".jsx",), "typescript": (".ts", ".mts", ".cts"),
    "typescriptreact": (".tsx",), "go": (".go",), "rust": (".rs",), "java": (".java",),
    "c": (".c", ".h"), "cpp": (".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".h"),
    "csharp": (".cs",), "ruby": (".rb",), "lua": (".lua",), "php": (".php",),
    "shellscript": (".sh", ".bash"), "kotlin": (".kt", ".kts"), "swift": (".swift",),
    "scala": (".scala",), "haskell": (".hs",), "perl": (".pl", ".pm"), "r": (".r", ".R"),
    "sql": (".sql",),
}
"""File extensions indexed for each LSP language id in use."""
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})
"""Folders never entered (besides hidden ones), ignored or not."""
GITIGNORE_BYTES = 1_000_000
BINARY_PROBE = 8192
"""A NUL byte in this many first bytes makes a file binary."""


class Skipped(Exception):
    """A file the index does not take, and why (one log line)."""


@dataclass(frozen=True)
class Found:
    """A file to index: its path relative to the folder (POSIX) and its absolute path."""

    relative: str
    path: Path


def suffixes_for(languages: set[str]) -> tuple[str, ...]:
    """The extensions of ``languages`` (unknown language ids add none)."""
    return tuple(sorted({s for lang in languages for s in LANGUAGE_SUFFIXES.get(lang, ())}))


def inside(path: Path, root: Path) -> bool:
    """Whether the real location of ``path`` is ``root`` or under it (``root`` resolved)."""
    try:
        return os.path.commonpath([os.path.realpath(path), root]) == str(root)
    except ValueError:  # different drives
        return False


def read_text(path: Path, root: Path, max_bytes: int) -> str:
    """The UTF-8 text of the file ``path`` of the folder ``root`` (resolved); :class:`Skipped`
    saying why when the index does not take it. Never opens anything outside ``root``: the
    path is resolved first (a symlinked file or a symlinked folder on its way may point
    elsewhere) and only its real location is opened, without following a symlink there."""
    if not inside(path, root):  # the file, or a folder on its way, is a symlink out
        raise Skipped("a symlink out of the workspace folder (not followed)")
    path = Path(os.path.realpath(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise Skipped("deleted while indexing") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Skipped("became a symlink while indexing (not followed)") from exc
        raise Skipped(f"unreadable ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Skipped("not a regular file")
        if info.st_size > max_bytes:
            raise Skipped(f"{info.st_size:,} bytes, over the {max_bytes:,}-byte cap "
                          "(codeDiffusion.context.maxFileBytes)")
        try:
            data = file.read(max_bytes + 1)
        except OSError as exc:
            raise Skipped(f"unreadable ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise Skipped(f"grew over the {max_bytes:,}-byte cap while indexing")
    if b"\x00" in data[:BINARY_PROBE]:
        raise Skipped("binary (a NUL byte)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Skipped(f"not UTF-8 (byte {exc.start})") from exc


def _gitignore(folder: Path, root: Path) -> GitIgnoreSpec | None:
    path = folder / ".gitignore"
    if not path.exists() and not path.is_symlink():
        return None
    try:
        text = read_text(path, root, GITIGNORE_BYTES)
    except Skipped as why:
        log.info("workspace index: %s not read: %s", path, why)
        return None
    return GitIgnoreSpec.from_lines(text.splitlines())


def _ignored(relative: str, is_dir: bool, rules: list[tuple[str, GitIgnoreSpec]]) -> bool:
    """Git's rule: the deepest ``.gitignore`` with a matching pattern decides."""
    for base, spec in reversed(rules):
        sub = relative[len(base):] if base else relative
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            return result.include
    return False


def walk(root: Path, suffixes: tuple[str, ...]) -> Iterator[Found]:
    """The files of folder ``root`` (resolved) with one of ``suffixes``, in a stable order,
    minus what ``.gitignore`` excludes. Symlinked folders are never entered (a symlink is
    never stat'ed through); a symlink with one of the suffixes is yielded, and ``read_text``
    decides whether its target is inside ``root``."""
    stack: list[tuple[Path, str, list[tuple[str, GitIgnoreSpec]]]] = [(root, "", [])]
    while stack:
        folder, relative, rules = stack.pop()
        spec = _gitignore(folder, root)
        if spec is not None:
            rules = [*rules, (relative, spec)]
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except FileNotFoundError:
            log.info("workspace index: folder %s was deleted while indexing", folder)
            continue
        except OSError as exc:
            log.info("workspace index: folder %s skipped: unreadable (%s)", folder,
                     exc.strerror or exc)
            continue
        folders = []
        for entry in entries:
            path = relative + entry.name
            if entry.is_dir(follow_symlinks=False):
                if (entry.name.startswith(".") or entry.name in SKIPPED_DIRS
                        or _ignored(path, True, rules)):
                    continue
                folders.append((Path(entry.path), path + "/", rules))
            elif entry.name.endswith(suffixes) and not _ignored(path, False, rules):
                yield Found(path, Path(entry.path))
        stack.extend(reversed(folders))


def ignored_path(root: Path, relative: str) -> bool:
    """Whether :func:`walk` leaves out the file ``relative`` of folder ``root`` (resolved): a
    hidden or skipped folder on its way, or a ``.gitignore`` rule (read along the way)."""
    parts = relative.split("/")
    rules: list[tuple[str, GitIgnoreSpec]] = []
    base = ""
    for depth, part in enumerate(parts):
        folder = root / base if base else root
        spec = _gitignore(folder, root)
        if spec is not None:
            rules.append((base, spec))
        last = depth == len(parts) - 1
        if not last and (part.startswith(".") or part in SKIPPED_DIRS):
            return True
        if _ignored(base + part, not last, rules):
            return True
        base += part + "/"
    return False
