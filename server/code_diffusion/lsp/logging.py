"""Logging: ``window/logMessage`` to the editor, plus stderr or ``--log-file``; never stdout.

Records of the ``code_diffusion`` loggers go to the editor once the server runs (at
``logLevel``). pygls's own records (every message body at INFO) go only to the file or stderr,
and only with ``-v``.
Records made on the model thread are handed to the event loop before they are sent.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG}
_MESSAGE_TYPES = ((logging.ERROR, types.MessageType.Error),
                  (logging.WARNING, types.MessageType.Warning),
                  (logging.INFO, types.MessageType.Info))
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ROOT = "code_diffusion"


def configure_logging(log_file: str | None = None, *, verbose: bool = False) -> logging.Handler:
    """Send log records to ``log_file`` or stderr, never to stdout.

    The file gets the server's records from INFO up; stderr only warnings and errors. With
    ``verbose`` both get everything, pygls's message traffic included. Returns the handler.
    """
    handler: logging.Handler = (logging.FileHandler(log_file, encoding="utf-8") if log_file
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter(FORMAT))
    quiet = logging.INFO if log_file else logging.WARNING
    handler.setLevel(logging.DEBUG if verbose else quiet)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler


class WindowLogMessageHandler(logging.Handler):
    """Sends the server's own log records to the editor as ``window/logMessage``."""

    def __init__(self, server: CodeDiffusionServer, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.server = server
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None
        self.setFormatter(logging.Formatter("%(message)s"))

    def set_level(self, name: str) -> None:
        """Send records from ``name`` (``error`` ... ``debug``) up; lower the logger to match."""
        level = LEVELS[name]
        self.setLevel(level)
        logger = logging.getLogger(ROOT)
        if logger.getEffectiveLevel() > level:
            logger.setLevel(level)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start sending, from ``loop`` (the one the transport runs on)."""
        self.loop, self.loop_thread = loop, threading.get_ident()
        logging.getLogger(ROOT).addHandler(self)

    def detach(self) -> None:
        logging.getLogger(ROOT).removeHandler(self)
        self.loop = None

    def emit(self, record: logging.LogRecord) -> None:
        loop = self.loop
        if loop is None or loop.is_closed() or not self.server.transport_open:
            return
        try:
            message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        kind = next((t for level, t in _MESSAGE_TYPES if record.levelno >= level),
                    types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=message)
        if threading.get_ident() == self.loop_thread:
            self._send(params)
        else:
            try:
                loop.call_soon_threadsafe(self._send, params)
            except RuntimeError:  # the loop closed meanwhile
                return

    def _send(self, params: types.LogMessageParams) -> None:
        if self.server.transport_open:
            self.server.window_log_message(params)
