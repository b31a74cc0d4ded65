"""A pygls language client over a server's stdio, for the storm and the long session.

It is an ordinary LSP client (the one pygls ships), plus what the measurements need: the
server's stderr is drained (so the pipe never fills) with its tail kept and loop-level failures
counted, ``workspace/configuration`` is answered, statuses are recorded, and the server process
can be sampled with psutil.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psutil
from lsprotocol import types
from pygls.io_ import run_async
from pygls.lsp.client import LanguageClient

STATUS = "codeDiffusion/status"
UNHANDLED = re.compile(r"Exception in callback|Task exception was never retrieved|"
                       r"Fatal Python error|Segmentation fault|Exception in thread")
"""stderr lines that mean something failed outside any request."""


class Client(LanguageClient):
    """One server process driven over stdio."""

    def __init__(self, configuration: dict[str, Any] | None = None) -> None:
        super().__init__("code-diffusion-reliability", "1")
        self.configuration = configuration or {}
        self.statuses: list[dict[str, Any]] = []
        self.shown: list[str] = []
        self.edits_asked: list[Any] = []
        """``workspace/applyEdit`` requests: the server must never send one on its own."""
        self.stderr_tail: deque[str] = deque(maxlen=300)
        self.unhandled: list[str] = []
        self.process: psutil.Process | None = None
        self._drain: asyncio.Task[Any] | None = None

        @self.feature(STATUS)
        def on_status(params: Any) -> None:
            self.statuses.append(params if isinstance(params, dict) else params._asdict())

        @self.feature(types.WORKSPACE_CONFIGURATION)
        def on_configuration(params: types.ConfigurationParams) -> list[Any]:
            return [self.configuration.get(item.section or "", {}) for item in params.items]

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def on_progress_create(params: Any) -> None:
            return None

        @self.feature(types.WORKSPACE_APPLY_EDIT)
        def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.edits_asked.append(params)
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="measuring")

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def on_show(params: types.ShowMessageParams) -> None:
            self.shown.append(params.message)

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            return None

        @self.feature(types.PROGRESS)
        def on_progress(params: Any) -> None:
            return None

    async def start(self, command: list[str], env: dict[str, str] | None = None) -> None:
        """Start ``command`` with piped stdio and serve the connection."""
        server = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
        self._server = server
        self.process = psutil.Process(server.pid)
        self.protocol.set_writer(server.stdin)  # type: ignore[arg-type]
        self._async_tasks.append(asyncio.create_task(run_async(
            stop_event=self._stop_event, reader=server.stdout, protocol=self.protocol,
            logger=logging.getLogger("code_diffusion.reliability.client"),
            error_handler=self.report_server_error)))
        self._async_tasks.append(asyncio.create_task(self._server_exit()))
        self._drain = asyncio.create_task(self._drain_stderr(server))

    async def _drain_stderr(self, server: asyncio.subprocess.Process) -> None:
        assert server.stderr is not None
        while line := await server.stderr.readline():
            text = line.decode("utf-8", "replace")
            self.stderr_tail.append(text)
            if UNHANDLED.search(text):
                self.unhandled.append(text.strip())

    @property
    def pid(self) -> int:
        assert self._server is not None
        return self._server.pid

    @property
    def returncode(self) -> int | None:
        return None if self._server is None else self._server.returncode

    async def initialize(self, options: Any = None, process_id: int | None = None
                         ) -> types.InitializeResult:
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                configuration=True, apply_edit=True,
                workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)),
            window=types.WindowClientCapabilities(work_done_progress=True),
            text_document=types.TextDocumentClientCapabilities(
                inline_completion=types.InlineCompletionClientCapabilities()))
        result = await self.initialize_async(types.InitializeParams(
            capabilities=caps, process_id=process_id, initialization_options=options,
            client_info=types.ClientInfo(name="code-diffusion-reliability")))
        self.initialized(types.InitializedParams())
        return result

    async def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.returncode is not None:
                raise RuntimeError(f"the server exited ({self.returncode}) while waiting for "
                                   f"{what}: {''.join(self.stderr_tail)[-2000:]}")
            await asyncio.sleep(0.02)
        raise TimeoutError(f"timed out waiting for {what}; statuses {self.statuses[-3:]}")

    async def ready(self, timeout: float = 300.0) -> dict[str, Any]:
        return await self.wait_for(
            lambda: next((s for s in self.statuses if s["state"] == "ready"), None), timeout,
            "the model to be ready")

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments)))

    def sample(self) -> dict[str, float]:
        """RSS (MiB), open file descriptors and threads of the server process."""
        assert self.process is not None
        with self.process.oneshot():
            return {"rss_mib": self.process.memory_info().rss / 2**20,
                    "fds": self.process.num_fds(), "threads": self.process.num_threads()}

    async def finish(self, timeout: float = 30.0) -> int | None:
        """``shutdown`` + ``exit``, then wait for the process; its exit code."""
        server = self._server
        if server is None:
            return None
        if server.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.shutdown_async(None), timeout)
                self.exit(None)
            try:
                await asyncio.wait_for(server.wait(), timeout)
            except TimeoutError:
                server.kill()
                await server.wait()
        if self._drain is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._drain, 5)
        with contextlib.suppress(Exception):
            await self.stop()
        return server.returncode
