"""A user's workspace read from disk for ``eval --tasks --workspace`` and ``generate
--workspace``: text files under a folder, never following a symlink out of it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MAX_WORKSPACE_FILE_BYTES = 1_000_000
SKIPPED_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", ".tox"}


def _skip(relative: str, reason: str) -> None:
    log.info("workspace: skipped %s: %s", relative, reason)


def _read_text(path: Path, relative: str, max_bytes: int) -> str | None:
    size = path.stat(follow_symlinks=False).st_size
    if size > max_bytes:
        _skip(relative, f"{size} bytes, over the {max_bytes}-byte cap")
        return None
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        _skip(relative, "binary (NUL bytes)")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _skip(relative, f"not UTF-8 ({exc.reason} at byte {exc.start})")
        return None


def load_workspace(root: str | Path, exclude: set[str] | frozenset[str] = frozenset(), *,
                   suffixes: tuple[str, ...] | None = (".py",),
                   max_bytes: int = MAX_WORKSPACE_FILE_BYTES,
                   max_files: int = 10_000) -> dict[str, str]:
    """The text files under ``root`` by POSIX path relative to it.

    Never reads a path in ``exclude`` (relative paths, e.g. a task's own file, whose text is the
    task's prefix and suffix), never follows a symlink (symlinked files and folders are skipped,
    so nothing outside ``root`` is read), and skips binaries, files over ``max_bytes``, non-UTF-8
    files, files that vanish while being read and anything past ``max_files``, each with one log
    line. ``suffixes=None`` takes every file name.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"workspace {root} is not a folder; pass the project's folder")
    texts: dict[str, str] = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names) + [d for d in dirs if (base / d).is_symlink()]:
            path = base / name
            relative = path.relative_to(root).as_posix()
            if relative in exclude or (suffixes is not None and not name.endswith(suffixes)
                                       and not path.is_symlink()):
                continue
            if path.is_symlink():
                _skip(relative, "a symlink (not followed)")
                continue
            if len(texts) >= max_files:
                _skip(relative, f"over the {max_files}-file cap")
                continue
            try:
                text = _read_text(path, relative, max_bytes)
            except OSError as exc:
                _skip(relative, f"unreadable ({exc.strerror or exc})")
                continue
            if text is not None:
                texts[relative] = text
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
    return texts
