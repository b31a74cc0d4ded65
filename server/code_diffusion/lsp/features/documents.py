"""Document sync. pygls keeps the text; a change or close drops the work computed for the
document's older version at once, instead of letting it finish."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)


def register(ls: CodeDiffusionServer) -> None:
    ls.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)


def did_open(ls: CodeDiffusionServer, params: types.DidOpenTextDocumentParams) -> None:
    document = params.text_document
    log.debug("opened %s (%s, version %s)", document.uri, document.language_id, document.version)


def did_change(ls: CodeDiffusionServer, params: types.DidChangeTextDocumentParams) -> None:
    dropped = ls.worker.drop_stale()
    if dropped:
        log.debug("%s changed to version %s: dropped %d stale request(s)",
                  params.text_document.uri, params.text_document.version, dropped)


def did_close(ls: CodeDiffusionServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.typeahead.forget(params.text_document.uri)
    ls.worker.drop_stale()
