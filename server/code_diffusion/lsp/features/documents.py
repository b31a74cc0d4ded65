"""Document sync. pygls keeps the text; a change or close drops the work computed for the
document's older version at once, instead of letting it finish. The workspace index follows
too: an opened document goes into it with its buffer text, a changed one is taken again when
the next fill starts (or on save), a closed one goes back to its disk text (lsp/workspace.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from code_diffusion.lsp.documents import buffer_text

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)


def register(ls: CodeDiffusionServer) -> None:
    ls.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    ls.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
    ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)


def did_open(ls: CodeDiffusionServer, params: types.DidOpenTextDocumentParams) -> None:
    document = params.text_document
    log.debug("opened %s (%s, version %s)", document.uri, document.language_id, document.version)
    ls.workspace_files.opened(document.uri, document.language_id, document.text)


def did_change(ls: CodeDiffusionServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.workspace_files.changed(params.text_document.uri)
    dropped = ls.worker.drop_stale()
    if dropped:
        log.debug("%s changed to version %s: dropped %d stale request(s)",
                  params.text_document.uri, params.text_document.version, dropped)


def did_save(ls: CodeDiffusionServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.workspace_files.changed(params.text_document.uri)
    ls.workspace_files.sync(lambda uri: buffer_text(ls, uri))


def did_close(ls: CodeDiffusionServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.typeahead.forget(params.text_document.uri)
    ls.workspace_files.closed(params.text_document.uri)
    ls.worker.drop_stale()
