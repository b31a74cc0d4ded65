"""``initialize``, ``initialized`` and ``shutdown``; the model load; watching the client process.

``initialize`` only parses options and is answered at once. The model (and torch) load on the
worker thread after ``initialized``, with ``$/progress`` and ``codeDiffusion/status``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from lsprotocol import types

from code_diffusion.lsp import config
from code_diffusion.lsp.features import configuration, workspace
from code_diffusion.lsp.progress import LoadProgress
from code_diffusion.lsp.status import StatusReporter

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)
CLIENT_POLL_SECONDS = 0.25
"""How often the client process is checked; the server exits within about this long."""


def register(ls: CodeDiffusionServer) -> None:
    ls.on_worker_status.extend([LoadProgress(ls), StatusReporter(ls)])
    ls.feature(types.INITIALIZE)(initialize)
    ls.feature(types.INITIALIZED)(initialized)
    ls.feature(types.SHUTDOWN)(shutdown)


def initialize(ls: CodeDiffusionServer, params: types.InitializeParams) -> None:
    raw = config.section_of(params.initialization_options)
    ls.init_options, errors = config.parse(config.InitOptions, raw)
    configuration.remember_initialization_options(ls, raw, errors)
    ls.log_handler.set_level(ls.init_options.log_level)
    client = params.client_info.name if params.client_info else "an unnamed client"
    log.info("code-diffusion %s serving %s; options %s", ls.version, client,
             config.to_json(ls.init_options))
    pid = params.process_id
    if pid is not None and pid != os.getpid():
        ls.run_task(watch_client(ls, pid), name="watch client process")


def initialized(ls: CodeDiffusionServer, params: types.InitializedParams) -> None:
    ls.worker.start(ls.load_options())
    ls.run_task(_configure_then_index(ls), name="pull configuration")


async def _configure_then_index(ls: CodeDiffusionServer) -> None:
    """The live settings first (they say whether and how far to index), then the index."""
    try:
        await configuration.refresh(ls)
    finally:
        workspace.start(ls)


def shutdown(ls: CodeDiffusionServer, params: None) -> None:
    log.info("shutting down")
    ls.workspace_files.stop()
    ls.worker.stop()


def client_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not count).

    ``kill(pid, 0)`` asks the kernel without sending anything; a process we may not signal
    still runs. Where ``/proc`` exists, a zombie (state ``Z``) is a process that has ended.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[:1]
    except OSError:  # no /proc (macOS) or the process ended meanwhile: kill() said it runs
        return True
    return state != ["Z"]


async def watch_client(ls: CodeDiffusionServer, pid: int) -> None:
    """Stop serving when the client process ``pid`` ends, as LSP's ``processId`` asks."""
    while client_alive(pid):
        await asyncio.sleep(CLIENT_POLL_SECONDS)
    log.warning("the client process %d is gone; exiting", pid)
    ls.stop_serving()
