"""The one table of per-language text conventions: comment markers and closing characters.

Everything in the engine and the language server that needs to know how a language writes a
comment, or which characters an editor closes by itself, reads it here.
"""

from __future__ import annotations

_HASH = ("#",)
_DASHES = ("--",)
LINE_COMMENTS: dict[str, tuple[str, ...]] = {
    "python": _HASH, "shellscript": _HASH, "ruby": _HASH, "yaml": _HASH, "toml": _HASH,
    "r": _HASH, "perl": _HASH, "makefile": _HASH, "dockerfile": _HASH, "coffeescript": _HASH,
    "lua": _DASHES, "sql": _DASHES, "haskell": _DASHES,
}
"""Comment markers by LSP language id; a language not listed is C-like (:data:`C_LIKE`)."""
C_LIKE = ("//", "/*", "*/", "*")
UNKNOWN = ("#", "//")
"""The markers recognised when the language is not known."""

AUTO_CLOSERS = frozenset(")]}\"'`")
"""Characters an editor inserts after the cursor when their opener is typed."""
OVERLAP_CLOSERS = AUTO_CLOSERS | frozenset(">;:, \t")
"""Characters that may end a statement: a candidate's tail of one or two of them that the rest
of the line already has is a repeat, not new code."""


def comment_markers(language: str | None) -> tuple[str, ...]:
    """The markers a comment line of ``language`` may start with."""
    if language is None:
        return UNKNOWN
    return LINE_COMMENTS.get(language, C_LIKE)


def comment_mark(language: str | None) -> str:
    """The marker to write a comment line in ``language`` with (Python's when unknown)."""
    return comment_markers(language or "python")[0]


def comment_block(text: str, language: str | None) -> str:
    """``text`` as comment lines in ``language``."""
    mark = comment_mark(language)
    return "".join(f"{mark} {line}".rstrip() + "\n" for line in text.splitlines())


def closers_end(text: str, offset: int) -> int:
    """The end of the line when the rest of it after ``offset`` is only auto-closed
    characters (and spaces), else ``offset``."""
    line_end = len(text)
    for terminator in ("\n", "\r"):
        found = text.find(terminator, offset)
        if found >= 0:
            line_end = min(line_end, found)
    rest = text[offset:line_end].strip()
    return line_end if rest and set(rest) <= AUTO_CLOSERS else offset


def with_closers(candidate: str, tail: str) -> str:
    """``candidate`` followed by the auto-closed ``tail`` it replaces, unless it already ends
    with them (the model wrote them itself)."""
    if not tail.strip() or candidate.rstrip().endswith(tail.strip()):
        return candidate
    return candidate + tail


def without_closers(candidate: str, tail: str) -> str:
    """``candidate`` without the auto-closed ``tail`` it carries (for showing it in a menu)."""
    closing = tail.strip()
    stripped = candidate.rstrip()
    if closing and stripped.endswith(closing):
        return stripped[: len(stripped) - len(closing)]
    return candidate
