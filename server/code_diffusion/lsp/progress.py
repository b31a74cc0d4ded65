"""``$/progress`` for the model load and for code actions.

Server-initiated: a token is created with ``window/workDoneProgress/create`` and then gets
exactly one ``begin``, any number of ``report`` and one ``end`` (in a ``finally``). Nothing is
sent to a client that does not announce ``window.workDoneProgress``.

The load's sequence (``docs/protocol.md``): ``begin`` "Loading the model" at 0 %, a
``report`` for each loading phase, and ``end`` "Ready: <model> on <device>" or
"Failed: <reason>".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from code_diffusion.worker import WorkerState, WorkerStatus

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)
LOAD_TITLE = "Code Diffusion"
REPORT_INTERVAL = 0.25
"""Seconds between two step reports of an action."""


def supported(ls: CodeDiffusionServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window and window.work_done_progress)


async def _create(ls: CodeDiffusionServer) -> str | None:
    token = f"code-diffusion-{uuid.uuid4()}"
    try:
        await ls.work_done_progress.create_async(token)
    except Exception as exc:  # the client refused or failed: carry on without progress
        log.debug("no progress: window/workDoneProgress/create failed: %s", exc)
        return None
    return token


class LoadProgress:
    """Follows the worker's status and turns each model load into one progress sequence."""

    def __init__(self, ls: CodeDiffusionServer) -> None:
        self.ls = ls
        self._queue: asyncio.Queue[WorkerStatus] | None = None

    def __call__(self, status: WorkerStatus) -> None:
        if not supported(self.ls):
            return
        if self._queue is None and status.state is WorkerState.LOADING:
            self._queue = asyncio.Queue()
            self.ls.run_task(self._follow(self._queue), name="load progress")
        if self._queue is not None:
            self._queue.put_nowait(status)
            if status.state is not WorkerState.LOADING:
                self._queue = None

    async def _follow(self, statuses: asyncio.Queue[WorkerStatus]) -> None:
        token = await _create(self.ls)
        first = await statuses.get()
        if token is None:
            return
        progress = self.ls.work_done_progress
        progress.begin(token, types.WorkDoneProgressBegin(
            title=LOAD_TITLE, message=first.message, percentage=0, cancellable=False))
        status = first
        try:
            while status.state is WorkerState.LOADING:
                status = await statuses.get()
                if status.state is WorkerState.LOADING:
                    progress.report(token, types.WorkDoneProgressReport(
                        message=status.message, percentage=status.progress))
        finally:
            progress.end(token, types.WorkDoneProgressEnd(message=_end_message(status)))


def _end_message(status: WorkerStatus) -> str:
    if status.state in (WorkerState.READY, WorkerState.BUSY) and status.info is not None:
        return f"Ready: {status.info.name} on {status.info.device}"
    if status.state is WorkerState.ERROR:
        return f"Failed: {status.message}"
    return "Stopped"


class ActionProgress:
    """Progress for one long action: ``begin`` at the start, a ``report`` per denoising step
    (at most every 0.25 s) and ``end`` when it is over. Use as ``async with``."""

    def __init__(self, ls: CodeDiffusionServer, title: str) -> None:
        self.ls = ls
        self.title = title
        self.token: str | None = None
        self._last = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> ActionProgress:
        self._loop = asyncio.get_running_loop()
        if supported(self.ls):
            self.token = await _create(self.ls)
        if self.token is not None:
            self.ls.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(
                title=self.title, message="Generating", cancellable=False))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.token is not None:
            token, self.token = self.token, None
            self.ls.work_done_progress.end(token, types.WorkDoneProgressEnd())

    def step(self, step: int, total: int | None = None) -> None:
        """Report denoising step ``step``; callable from any thread."""
        now = time.monotonic()
        if self.token is None or self._loop is None or now - self._last < REPORT_INTERVAL:
            return
        self._last = now
        message = f"Denoising step {step}" + (f" of {total}" if total else "")
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self._loop.call_soon_threadsafe(self._report, message)

    def _report(self, message: str) -> None:
        if self.token is not None:
            self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(
                message=message))
