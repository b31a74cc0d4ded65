"""Snippets: chunks of the file and workspace placed ahead of the local prefix.

A snippet is ``radius`` lines either side of a draft's place (the best-matching neighbourhoods),
merged when they overlap, never overlapping the local window the model already sees (the
document's lines within ``local_lines`` of the hole). Snippets are taken best first while their
rendered size fits ``budget`` tokens as counted by the model's own ``count_tokens``.

The rendered format is the same for every model family::

    <comment> <path>:<line>\\n
    <chunk lines>\\n
    <comment> <path>:<line>\\n
    <chunk lines>\\n

each chunk introduced by one comment line in the document's language naming its file (or
``this file``) and its 1-based first line; the result ends with a newline and goes directly ahead
of the local prefix. Snippets are rendered in the order given (best last, nearest the prefix).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

COMMENT_MARKERS = {
    "python": "#", "shellscript": "#", "ruby": "#", "r": "#", "perl": "#", "yaml": "#",
    "toml": "#", "lua": "--", "sql": "--", "haskell": "--",
}
"""Line-comment markers by LSP language id; any other language uses ``//``."""
DEFAULT_MARKER = "//"
THIS_FILE = "this file"


@dataclass(frozen=True)
class Snippet:
    """A chunk of text from ``path`` (``None``: the document) starting at 0-based ``line``."""

    path: str | None
    line: int
    text: str
    score: float


def comment_marker(language: str | None) -> str:
    return COMMENT_MARKERS.get((language or "").lower(), DEFAULT_MARKER)


def render_snippet(snippet: Snippet, language: str | None) -> str:
    """One chunk: its header comment line, its lines, a final newline."""
    where = snippet.path if snippet.path is not None else THIS_FILE
    body = snippet.text if snippet.text.endswith("\n") else snippet.text + "\n"
    return f"{comment_marker(language)} {where}:{snippet.line + 1}\n{body}"


def render_snippets(snippets: Sequence[Snippet], language: str | None) -> str:
    """The text that goes ahead of the local prefix (empty when there are no snippets)."""
    return "".join(render_snippet(snippet, language) for snippet in snippets)


def chunk(lines: Sequence[str], center: int, radius: int) -> tuple[int, str]:
    """(first line, text) of the lines ``center ± radius`` of a file's ``lines``."""
    first = max(0, center - radius)
    return first, "\n".join(lines[first: center + radius + 1])


def select_snippets(candidates: Sequence[Snippet], budget: int,
                    count_tokens: Callable[[str], int], language: str | None,
                    max_snippets: int = 4) -> list[Snippet]:
    """The best candidates (by score, then path and line) whose rendered texts together
    take at most ``budget`` tokens; returned in render order (best last)."""
    if budget < 0:
        raise ValueError(f"snippet budget must be ≥ 0 tokens, got {budget}")
    chosen: list[Snippet] = []
    used = 0
    seen: set[tuple[str | None, int]] = set()
    ordered = sorted(candidates, key=lambda s: (-s.score, s.path or "", s.line))
    for snippet in ordered:
        if len(chosen) >= max_snippets:
            break
        if (snippet.path, snippet.line) in seen:
            continue
        cost = count_tokens(render_snippet(snippet, language))
        if used + cost > budget:
            continue
        chosen.append(snippet)
        seen.add((snippet.path, snippet.line))
        used += cost
    return chosen[::-1]
