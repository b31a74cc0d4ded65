"""The ``codeDiffusion/status`` notification, and the one popup when the model fails to load."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from code_diffusion.engine.precision import describe
from code_diffusion.worker import WorkerState, WorkerStatus

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)
STATUS = "codeDiffusion/status"


def precision_choice(status: WorkerStatus, options: Any) -> str | None:
    """The ``precision`` setting of the worker's load ``options`` resolved, and why (see
    :func:`code_diffusion.engine.precision.describe`); ``None`` for the remote backend, or
    before anything loads on ``device = auto`` (the device is not known yet)."""
    if options is None or getattr(options, "remote", None) is not None:
        return None
    device = status.info.device if status.info else options.device
    if device == "auto":
        return None
    return _describe(options.precision, device.split(":")[0])


@functools.lru_cache(maxsize=16)
def _describe(setting: str, device_type: str) -> str:
    """:func:`describe`, read once: it reads ``/proc/cpuinfo``, and the status goes out twice
    a request."""
    return describe(setting, device_type)


def payload(status: WorkerStatus, options: Any = None,
            workspace: dict[str, Any] | None = None) -> dict[str, Any]:
    """The notification's params for the worker's ``status`` and load ``options``; every key
    but ``state`` may be ``None``. ``workspace`` is the index's ``{"files": N, "indexing":
    bool}``."""
    info = status.info
    latency = status.last_latency_ms
    return {
        "state": status.state.value,
        "model": info.name if info else None,
        "device": info.device if info else None,
        "precision": info.precision if info else None,
        "precisionChoice": precision_choice(status, options),
        "lastLatencyMs": None if latency is None else round(latency, 1),
        "message": status.message,
        "progress": status.progress,
        "workspace": workspace,
    }


def resend(ls: CodeDiffusionServer) -> None:
    """The status again if the workspace index's object changed since the last one sent
    (unless the worker has stopped)."""
    status, workspace = ls.worker.status, ls.workspace_files.status()
    if (status.state is not WorkerState.STOPPED and ls.transport_open
            and workspace != ls.workspace_files.last_sent):
        ls.workspace_files.last_sent = workspace
        ls.protocol.notify(STATUS, payload(status, ls.worker.options, workspace))


class StatusReporter:
    """Sends ``codeDiffusion/status`` on every worker status (not ``stopped``, which only
    happens at shutdown), logs state changes, and shows one message per load failure."""

    def __init__(self, ls: CodeDiffusionServer) -> None:
        self.ls = ls
        self._state: WorkerState | None = None
        self._shown_error: str | None = None

    def __call__(self, status: WorkerStatus) -> None:
        if status.state is WorkerState.STOPPED or not self.ls.transport_open:
            return
        workspace = self.ls.workspace_files.status()
        self.ls.workspace_files.last_sent = workspace
        self.ls.protocol.notify(STATUS, payload(status, self.ls.worker.options, workspace))
        previous, self._state = self._state, status.state
        if status.state is WorkerState.ERROR:
            if status.message != self._shown_error:
                log.error("model failed to load: %s", status.message)
                self._shown_error = status.message
                self.ls.notify_user(f"Code Diffusion: {status.message}",
                                    types.MessageType.Error, promised=True)
        elif previous is WorkerState.LOADING and status.state is WorkerState.READY:
            self._shown_error = None
            info = status.info
            if info is not None:
                log.info("model ready: %s (%s) on %s, %s", info.name, info.family, info.device,
                         precision_choice(status, self.ls.worker.options) or info.precision)
                self.ls.notify_user(f"Code Diffusion: {info.name} is ready on {info.device}",
                                    types.MessageType.Info)
