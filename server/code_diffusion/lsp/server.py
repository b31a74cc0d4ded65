"""``CodeDiffusionServer``: the pygls server with its settings, its worker and its transport.

The transport loops are our own thin versions of pygls's: stdin is read on a daemon thread so
the process can always end (stdin EOF, the ``exit`` notification, or the client process dying),
and the ``exit`` code survives. Requests whose parameters do not even deserialize are answered
with ``InvalidParams`` naming the bad field, instead of being dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any, BinaryIO

import cattrs
from cattrs.v import format_exception
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, default_converter
from pygls.protocol.language_server import lsp_method

from code_diffusion import __version__
from code_diffusion.engine.loading import LoadOptions
from code_diffusion.lsp.config import InitOptions, Settings
from code_diffusion.lsp.logging import WindowLogMessageHandler
from code_diffusion.lsp.typeahead import TypeAhead
from code_diffusion.lsp.workspace import WorkspaceFiles
from code_diffusion.worker import Loader, ModelWorker, WorkerState

log = logging.getLogger(__name__)
NAME = "code-diffusion"
_ANSWERED = object()
"""Returned by ``structure_message`` for a request it already answered with an error."""
NOTIFY_LEVELS = {"off": 0, "onError": 1, "onWarning": 2, "always": 3}
_SEVERITY = {types.MessageType.Error: 1, types.MessageType.Warning: 2,
             types.MessageType.Info: 3, types.MessageType.Log: 3}
ERROR_MESSAGE_INTERVAL = 30.0
"""Seconds between two popups about unexpected server errors."""


def _describe(error: BaseException, _: Any = None) -> str:
    if isinstance(error, ValueError) and str(error):
        return str(error)
    return format_exception(error, _)


class CodeDiffusionProtocol(LanguageServerProtocol):
    """pygls's protocol, answering undeserializable requests with a precise InvalidParams."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" in data and "id" in data and "method" in data and "params" not in data:
            # JSON-RPC lets a request omit params; pygls cannot build one without them and
            # would leave it unanswered (an unknown method must still get MethodNotFound).
            data = {**data, "params": None}
        try:
            return super().structure_message(data)
        except JsonRpcInvalidParams as exc:
            if not ("id" in data and "method" in data and "jsonrpc" in data):
                raise
            cause = exc.__cause__
            detail = ("; ".join(cattrs.transform_error(cause, format_exception=_describe))
                      if isinstance(cause, cattrs.BaseValidationError) else str(exc))
            error = JsonRpcInvalidParams(f"invalid params for {data['method']}: {detail}")
            self._send_response(data["id"], error=error.to_response_error())
            return _ANSWERED

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, Any]:
        """pygls's initialize, with positions always in UTF-16 (the LSP default, which every
        client supports), so that command arguments mean the same in every editor."""
        general = params.capabilities.general
        if general is not None and general.position_encodings:
            general.position_encodings = (types.PositionEncodingKind.Utf16,)
        return (yield from super().lsp_initialize(params))

    def handle_message(self, message: Any) -> None:
        if message is not _ANSWERED:
            super().handle_message(message)

    def _handle_notification(self, method_name: str, params: Any) -> None:
        """pygls's, without its leak: a notification whose handler is a generator (every
        ``textDocument/did*``) leaves its future in ``_request_futures`` under a fresh id that
        no response ever removes, about 0.5 KiB per keystroke."""
        before = set(self._request_futures)
        super()._handle_notification(method_name, params)
        for key in set(self._request_futures) - before:
            future = self._request_futures[key]
            if future.done():
                del self._request_futures[key]
            else:
                future.add_done_callback(lambda _, key=key: self._request_futures.pop(key, None))


class _ThreadReader:
    """Reads the transport on one daemon thread, for pygls's ``run_async``.

    It reads the file descriptor with ``os.read`` and buffers itself: a daemon thread blocked
    inside a ``BufferedReader`` would hold its lock and abort the interpreter at exit. A read
    the buffer already holds (a message's blank line and body usually arrive with its header)
    is answered on the loop without waking the thread: pygls awaits each read before the next,
    so the thread is idle, waiting for a call, whenever the loop looks at the buffer.
    """

    CHUNK = 65536

    def __init__(self, stream: BinaryIO) -> None:
        self._fd = stream.fileno()
        self._buffer = bytearray()
        self._eof = False
        self._calls: queue.SimpleQueue[tuple[Callable[..., bytes], tuple[Any, ...],
                                             asyncio.Future[bytes]]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="code-diffusion-stdin", daemon=True).start()

    def _fill(self) -> bool:
        """Read more bytes; ``False`` at end of input."""
        if self._eof:
            return False
        try:
            chunk = os.read(self._fd, self.CHUNK)
        except OSError:
            chunk = b""
        self._eof = not chunk
        self._buffer += chunk
        return bool(chunk)

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _readline(self) -> bytes:
        while b"\n" not in self._buffer and self._fill():
            pass
        end = self._buffer.find(b"\n")
        return self._take(len(self._buffer) if end < 0 else end + 1)

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def _serve(self) -> None:
        while True:
            read, args, future = self._calls.get()
            data = read(*args)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                future.get_loop().call_soon_threadsafe(_resolve, future, data)

    def _call(self, read: Callable[..., bytes], *args: Any) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._calls.put((read, args, future))
        return future

    def readline(self) -> asyncio.Future[bytes]:
        end = self._buffer.find(b"\n")
        return self._ready(self._take(end + 1)) if end >= 0 else self._call(self._readline)

    def readexactly(self, n: int) -> asyncio.Future[bytes]:
        return self._ready(self._take(n)) if len(self._buffer) >= n else self._call(self._read, n)

    @staticmethod
    def _ready(data: bytes) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        future.set_result(data)
        return future


def _resolve(future: asyncio.Future[bytes], data: bytes) -> None:
    if not future.done():
        future.set_result(data)


@functools.cache
def shared_converter() -> cattrs.Converter:
    """pygls's converter for LSP types, built once per process (building one takes about
    0.1 s at start-up) and shared by the protocol and the code actions."""
    return default_converter()


class CodeDiffusionServer(LanguageServer):
    """The language server. Build it with :func:`code_diffusion.lsp.create_server`."""

    def __init__(self, load: Loader, *, model_path: str | None = None) -> None:
        super().__init__(NAME, __version__, protocol_cls=CodeDiffusionProtocol,
                         converter_factory=shared_converter,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.model_path_override = model_path
        """``--model``: overrides ``modelPath`` from the editor."""
        self.init_options = InitOptions()
        self.restart_options: InitOptions | None = None
        """Restart-only values from ``workspace/configuration``, used by ``restartModel``."""
        self.settings = Settings()
        self.initial_raw: dict[str, Any] = {}
        """The settings object from ``initializationOptions``."""
        self.pending_errors: list[Any] = []
        self.shown_settings_message = ""
        self.transport_open = False
        self.exit_code = 0
        self.log_handler = WindowLogMessageHandler(self)
        self.on_worker_status: list[Callable[[Any], None]] = []
        self.worker = ModelWorker(load, self._worker_status)
        self.typeahead = TypeAhead()
        """The last completion per document and kind, served again while the user types it."""
        self.workspace_files = WorkspaceFiles(self._workspace_status, self._model_working)
        """The workspace index every fill reads (lsp/workspace.py)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[Any] | None = None
        self._last_error_popup = 0.0

    # -- tasks, messages and errors ------------------------------------------------------------

    def run_task(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; its exception, if any, is logged."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def notify_user(self, message: str, kind: types.MessageType, *, promised: bool = False) -> bool:
        """``window/showMessage`` if ``showNotifications`` lets it through.

        ``promised`` messages (a refused setting, a model that fails to load) are shown unless
        notifications are ``off``. Returns whether it was sent.
        """
        level = NOTIFY_LEVELS[self.settings.show_notifications]
        if level == 0 or not self.transport_open:
            return False
        if not promised and _SEVERITY[kind] > level:
            return False
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        return True

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log unexpected errors; show one popup at most every 30 seconds."""
        from pygls.exceptions import FeatureRequestError

        log.error("%s: %s", getattr(source, "__name__", source), error)
        if source is FeatureRequestError:
            return  # the request's own error response already tells the client
        now = time.monotonic()
        if now - self._last_error_popup >= ERROR_MESSAGE_INTERVAL:
            self._last_error_popup = now
            self.notify_user(f"Code Diffusion: internal error: {error}", types.MessageType.Error)

    def _worker_status(self, status: Any) -> None:
        for listener in self.on_worker_status:
            listener(status)

    def _model_working(self) -> bool:
        """Whether the model loads or runs a request (read from the index thread)."""
        return self.worker.status.state in (WorkerState.LOADING, WorkerState.BUSY)

    def _workspace_status(self) -> None:
        """The index's file count changed: the status again, with the worker's last state."""
        from code_diffusion.lsp.status import resend

        resend(self)

    def load_options(self, options: InitOptions | None = None) -> LoadOptions:
        """The worker's :class:`LoadOptions` from restart-only settings (and ``--model``)."""
        options = options or self.init_options
        path = self.model_path_override or options.model_path or None
        return LoadOptions(model_path=path, device=options.device, precision=options.precision,
                           trust_remote_code=options.trust_remote_code,
                           allow_unsafe_weights=options.allow_unsafe_weights,
                           remote=(options.remote_options() if options.backend == "remote"
                                   else None))

    # -- transports ----------------------------------------------------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio until ``exit``, stdin EOF or the client process ends."""
        reader = _ThreadReader(stdin or sys.stdin.buffer)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        self._run(self._serve(reader))

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client over TCP on ``host:port`` (the CLI binds 127.0.0.1 only)."""
        self._run(self._serve_tcp(host, port))

    def stop_serving(self) -> None:
        """End the transport loop (used when the client process is gone)."""
        if self._main is not None:
            self._main.cancel()

    def _run(self, main: Coroutine[Any, Any, None]) -> None:
        self._stop_event = threading.Event()
        try:
            asyncio.run(main)
        except SystemExit as exc:  # the `exit` notification
            self.exit_code = exc.code if isinstance(exc.code, int) else 0
        except (asyncio.CancelledError, KeyboardInterrupt, BrokenPipeError):
            pass
        finally:
            self.transport_open = False
            self.log_handler.detach()
            self.workspace_files.stop()
            self.worker.stop()
            self.shutdown()

    async def _serve(self, reader: _ThreadReader) -> None:
        self._begin()
        await run_async(stop_event=self._stop_event, reader=reader, protocol=self.protocol,
                        logger=logging.getLogger("pygls.io_"),
                        error_handler=self._report_server_error)
        log.info("the client closed the connection")

    async def _serve_tcp(self, host: str, port: int) -> None:
        self._begin()
        finished = asyncio.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(writer)  # type: ignore[arg-type]
            try:
                await run_async(stop_event=self._stop_event, reader=reader,
                                protocol=self.protocol, logger=logging.getLogger("pygls.io_"),
                                error_handler=self._report_server_error)
            finally:
                finished.set()

        server = await asyncio.start_server(connection, host, port)
        address = ", ".join(str(s.getsockname()) for s in server.sockets)
        print(f"code-diffusion: listening on {address}", file=sys.stderr, flush=True)
        async with server:
            await finished.wait()

    def _begin(self) -> None:
        self._main = asyncio.current_task()
        self.transport_open = True
        self.log_handler.attach(asyncio.get_running_loop())
