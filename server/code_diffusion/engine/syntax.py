"""Syntax checks with tree-sitter, for the languages whose grammar is installed.

Used to score candidates (syntax errors of the whole buffer with the candidate in, minus the
errors before, so an already-broken buffer does not disqualify everything) and to find the
span a "repair syntax error" action re-masks. A language without a grammar here gives
``None``: callers treat it as "cannot tell", never as "valid".
"""

from __future__ import annotations

import importlib
from functools import cache
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
    except ImportError:
        return None
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def supported(language: str | None) -> bool:
    """True when a grammar for ``language`` is installed."""
    return language is not None and _parser(language) is not None


def _tree(text: str, language: str | None):
    parser = _parser(language) if language else None
    return None if parser is None else parser.parse(text.encode("utf-8"))


def _error_nodes(node) -> list:
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
    tree = _tree(text, language)
    if tree is None:
        return None
    return len(_error_nodes(tree.root_node)) if tree.root_node.has_error else 0


def _char_offset(text_bytes: bytes, byte_offset: int) -> int:
    return len(text_bytes[:byte_offset].decode("utf-8", errors="ignore"))


def error_spans(text: str, language: str | None) -> list[tuple[int, int]] | None:
    """Character spans ``(start, end)`` of each syntax error, or ``None`` without a grammar."""
    tree = _tree(text, language)
    if tree is None:
        return None
    raw = text.encode("utf-8")
    return [(_char_offset(raw, n.start_byte), _char_offset(raw, n.end_byte))
            for n in _error_nodes(tree.root_node)]


def first_error_span(text: str, language: str | None) -> tuple[int, int] | None:
    """The first syntax error's character span, or ``None`` (no error, or no grammar)."""
    spans = error_spans(text, language)
    return spans[0] if spans else None
