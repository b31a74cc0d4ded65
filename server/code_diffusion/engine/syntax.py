"""Every use of tree-sitter: parsers for the languages whose grammar is installed, syntax
error counts and spans, and the tree helpers the code actions read Python structure with.

Error counts score candidates (syntax errors of the whole buffer with the candidate in, minus
the errors before, so an already-broken buffer does not disqualify everything); error spans
are what a "repair syntax error" action re-masks. A language without a grammar here gives
``None``: callers treat it as "cannot tell", never as "valid".
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache, lru_cache
from typing import Any

# LSP language id -> the PyPI module that carries its tree-sitter grammar.
GRAMMARS = {
    "python": "tree_sitter_python",
}


@cache
def _parser(language: str) -> Any | None:
    module_name = GRAMMARS.get(language)
    if module_name is None:
        return None
    try:
        import tree_sitter

        grammar = importlib.import_module(module_name)
    except ImportError:  # the grammar is not installed: "cannot tell", as documented above
        return None
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


@lru_cache(maxsize=4)
def parse(text: str, language: str | None) -> Any | None:
    """The tree of ``text`` (the last few are kept), or ``None`` without a grammar."""
    parser = _parser(language) if language else None
    return None if parser is None else parser.parse(text.encode("utf-8"))


def _error_nodes(node: Any) -> list[Any]:
    """ERROR and MISSING nodes, outermost first, in document order."""
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            found.append(current)
            continue
        if current.has_error:
            stack.extend(reversed(current.children))
    return found


def error_count(text: str, language: str | None) -> int | None:
    """How many syntax errors tree-sitter finds, or ``None`` without a grammar."""
    tree = parse(text, language)
    if tree is None:
        return None
    return len(_error_nodes(tree.root_node)) if tree.root_node.has_error else 0


def error_spans(text: str, language: str | None) -> list[tuple[int, int]] | None:
    """Character spans ``(start, end)`` of each syntax error, or ``None`` without a grammar."""
    tree = parse(text, language)
    if tree is None:
        return None
    return [(char_offset(text, n.start_byte), char_offset(text, n.end_byte))
            for n in _error_nodes(tree.root_node)]


def walk(node: Any) -> Iterator[Any]:
    """Every node under ``node`` (itself included), in document order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def char_offset(text: str, byte_offset: int) -> int:
    """The code point offset in ``text`` of a UTF-8 byte offset of tree-sitter's."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def string_content(string: Any) -> str:
    """The text inside a string node, without its quotes."""
    parts = [c.text.decode("utf-8", errors="replace") for c in string.children
             if c.type == "string_content"]
    return "".join(parts).strip()
