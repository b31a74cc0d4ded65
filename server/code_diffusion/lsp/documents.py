"""Open documents and positions: snapshots for the worker, and LSP positions ↔ str offsets.

Positions are UTF-16 code units: the server announces ``positionEncoding: utf-16`` to every
client (the conversions also handle UTF-8 and UTF-32). A line past the end of the document, a
character that splits a character in two, a document that is not open, too large or binary is
an ``InvalidParams`` or ``RequestFailed`` error whose message names what is wrong; a
``character`` past the end of its line means the line's end, as the LSP specification says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from code_diffusion.engine.text import Lines

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""JSON can carry one half of a surrogate pair; no tokenizer or encoder accepts it."""
MAX_DOCUMENT_CHARS = 5_000_000
"""Documents longer than this are refused with a clear error instead of being sent to the model."""
REQUEST_FAILED = -32803


class RequestFailed(JsonRpcException):
    """LSP's ``RequestFailed``: the parameters were fine, the request still cannot be served."""

    CODE = REQUEST_FAILED
    MESSAGE = "Request failed"


@dataclass(frozen=True)
class Snapshot:
    """A document's state at one version, safe to hand to the worker thread."""

    uri: str
    version: int | None
    text: str
    language: str | None
    encoding: str

    @cached_property
    def lines(self) -> Lines:
        return Lines(self.text)

    def offset(self, position: types.Position, lines: Lines | None = None) -> int:
        return to_offset(lines or self.lines, position, self.encoding)

    def position(self, offset: int, lines: Lines | None = None) -> types.Position:
        return to_position(lines or self.lines, offset, self.encoding)

    def range_offsets(self, rng: types.Range) -> tuple[int, int]:
        lines = self.lines
        start, end = self.offset(rng.start, lines), self.offset(rng.end, lines)
        if end < start:
            raise JsonRpcInvalidParams(
                f"range end {_show(rng.end)} is before its start {_show(rng.start)}")
        return start, end


def snapshot(ls: CodeDiffusionServer, uri: str) -> Snapshot:
    """The open document ``uri``; an error naming the problem if it cannot be served."""
    document = ls.workspace.text_documents.get(uri) or _by_unquoted_uri(ls, uri)
    if document is None:
        raise JsonRpcInvalidParams(
            f"document {uri} is not open; send textDocument/didOpen before requests on it")
    text = document.source
    if len(text) > MAX_DOCUMENT_CHARS:
        raise RequestFailed(
            f"document {uri} has {len(text):,} characters; code-diffusion works on documents "
            f"of up to {MAX_DOCUMENT_CHARS:,}")
    if "\x00" in text:
        raise RequestFailed(f"document {uri} contains NUL characters (a binary file?); "
                            "code-diffusion only works on text")
    surrogate = _LONE_SURROGATE.search(text)
    if surrogate is not None:
        line = text.count("\n", 0, surrogate.start())
        raise RequestFailed(f"document {uri} is not valid Unicode text: line {line} holds an "
                            "unpaired UTF-16 surrogate; code-diffusion only works on text")
    return Snapshot(uri, document.version, text, document.language_id,
                    str(ls.workspace.position_encoding or types.PositionEncodingKind.Utf16))


def current_version(ls: CodeDiffusionServer, uri: str) -> int | None:
    """The open document's version, or ``None`` when it is not open (any more)."""
    document = ls.workspace.text_documents.get(uri) or _by_unquoted_uri(ls, uri)
    return None if document is None else document.version


def buffer_text(ls: CodeDiffusionServer, uri: str) -> str | None:
    """The open document's text (``None`` once it is closed)."""
    document = ls.workspace.text_documents.get(uri)
    return None if document is None else document.source


def _by_unquoted_uri(ls: CodeDiffusionServer, uri: str):
    from urllib.parse import unquote

    return ls.workspace.text_documents.get(unquote(uri))


def _units(char: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(char.encode("utf-8"))
    if encoding == types.PositionEncodingKind.Utf32:
        return 1
    return 2 if ord(char) > 0xFFFF else 1


def _show(position: types.Position) -> str:
    return f"{position.line}:{position.character}"


def to_offset(lines: Lines, position: types.Position, encoding: str) -> int:
    """The str offset of an LSP position in the text of ``lines``."""
    if position.line >= len(lines):
        raise JsonRpcInvalidParams(
            f"position {_show(position)}: line {position.line} is past the end of the "
            f"document, which has {len(lines)} lines (0 to {len(lines) - 1})")
    start = lines.start(position.line)
    content = lines.content(position.line)
    wanted = position.character
    if content.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return start + min(wanted, len(content))
    units = 0
    for index, char in enumerate(content):
        if units == wanted:
            return start + index
        units += _units(char, encoding)
        if units > wanted:
            raise JsonRpcInvalidParams(
                f"position {_show(position)}: character {wanted} falls inside the character "
                f"{char!r} ({encoding} code units {units - _units(char, encoding)} to {units})")
    return start + len(content)


def to_position(lines: Lines, offset: int, encoding: str) -> types.Position:
    """The LSP position of a str offset in the text of ``lines``."""
    row = lines.row(offset)
    head = lines.text[lines.start(row):offset]
    if head.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return types.Position(line=row, character=len(head))
    return types.Position(line=row, character=sum(_units(c, encoding) for c in head))


def text_edit(snap: Snapshot, start: int, end: int, new_text: str) -> types.TextEdit:
    lines = snap.lines
    return types.TextEdit(range=types.Range(start=snap.position(start, lines),
                                            end=snap.position(end, lines)), new_text=new_text)
