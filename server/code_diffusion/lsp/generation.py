"""Run one fill on the worker for a document snapshot, and say why when there is nothing.

Shared by completions, code actions and commands, with one rule per outcome (docs/server.md,
"Errors"):

* a request the engine refuses (a bad parameter, a device or precision the model cannot use) is
  a JSON-RPC ``InvalidParams`` error with the engine's message;
* no candidate passed the checks, or the request was superseded, went stale, or no model is
  loaded, or the server the model runs on failed (the remote backend's errors, which the status
  shows too): ``([], reason)``, with a log line; completions answer an empty list, actions and
  commands pass the reason on;
* anything else is a bug: a JSON-RPC ``InternalError`` with the exception's message and the
  traceback in the log; the worker keeps serving the next request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from code_diffusion.engine.errors import (
    BackendError,
    DeviceError,
    GenerationCancelled,
    GenerationError,
    InvalidRequestError,
    UnsupportedParameterError,
)
from code_diffusion.lsp.documents import Snapshot, buffer_text, current_version
from code_diffusion.worker import Superseded, WorkerError

if TYPE_CHECKING:
    from code_diffusion.engine.types import Candidate
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)
KIND_OF_LANE = {"inlineCompletion": "inline", "completion": "menu", "action": "actions"}
"""Which per-kind settings (``codeDiffusion.<kind>.*``) a lane's requests use."""


def _job(snap: Snapshot, text: str, start: int, end: int | None, params: dict[str, Any],
         label: str, reached: list[int], on_step: Callable[[int], None] | None,
         **fill: Any) -> Callable[[Any, Callable[[], bool]], Any]:
    """The function the model thread runs; ``reached[0]`` follows the denoising steps."""

    def job(model: Any, should_stop: Callable[[], bool]) -> Any:
        def step(state: Any) -> None:
            reached[0] = state.step
            if on_step is not None:
                on_step(state.step)

        try:
            return model.fill(text, start, end, language=snap.language, on_step=step,
                              should_stop=should_stop, **fill, **params)
        finally:
            if should_stop():
                log.debug("%s: stopped after denoising step %d of at most %d", label, reached[0],
                          params["steps"])

    return job


def context_arguments(ls: CodeDiffusionServer, uri: str) -> dict[str, Any]:
    """``fill``'s ``path`` (the document's index key, for ``file:`` URIs), ``workspace`` (the
    index, with the open documents' latest text) and ``context`` (``None`` when
    ``codeDiffusion.context.enabled`` is off)."""
    context = ls.settings.context_options()
    files = ls.workspace_files
    if context is None:
        return {"path": files.key(uri), "workspace": None, "context": None}
    files.sync(lambda changed: buffer_text(ls, changed))
    return {"path": files.key(uri), "workspace": files.index, "context": context}


async def generate(ls: CodeDiffusionServer, snap: Snapshot, start: int, end: int | None = None,
                   *, lane: str, label: str, debounce: float = 0.0, specification: str = "",
                   hole: str = "auto", text: str | None = None, closers: bool = False,
                   on_step: Callable[[int], None] | None = None
                   ) -> tuple[list[Candidate], str | None]:
    """Fill ``text[start:end]`` (``text`` defaults to the snapshot's) on the model thread: the
    candidates that passed the checks, best first.

    ``lane`` keys latest-wins together with the URI: a newer request of the same lane for the
    same document supersedes this one. With ``closers``, auto-closed characters after an
    insertion are replaced and carried once by each candidate (see ``CodeGenerator.fill``).
    Raises ``InvalidParams`` or ``InternalError`` as the module says; every other outcome
    without candidates comes back with a reason.
    """
    reached = [0]
    params = ls.settings.generation_params(KIND_OF_LANE[lane])
    job = _job(snap, snap.text if text is None else text, start, end, params, label, reached,
               on_step, specification=specification, hole=hole, closers=closers,
               sampler=ls.settings.sampler_options(), **context_arguments(ls, snap.uri))

    def is_current() -> bool:
        return current_version(ls, snap.uri) == snap.version

    log.debug("%s: asking for %d candidate(s)", label, params["num_samples"])
    try:
        result = await ls.worker.run((snap.uri, lane), job, debounce=debounce,
                                     is_current=is_current)
    except Superseded as exc:
        log.debug("%s: %s", label, exc)
        return [], str(exc)
    except (WorkerError, GenerationError, GenerationCancelled) as exc:
        log.info("%s: no candidates: %s", label, exc)
        return [], str(exc)
    except BackendError as exc:
        log.warning("%s: no candidates: %s", label, exc)
        return [], str(exc)
    except (InvalidRequestError, UnsupportedParameterError, DeviceError) as exc:
        log.warning("%s: refused: %s", label, exc)
        raise JsonRpcInvalidParams(str(exc)) from exc
    except Exception as exc:  # a bug in the model code: the client's error report gets it
        log.exception("%s: the model failed", label)
        raise JsonRpcInternalError(f"the model failed: {type(exc).__name__}: {exc}") from exc
    candidates = list(result.passing())  # checked, de-duplicated, best first
    log.debug("%s: %d candidate(s) after %d step(s) (%d asked)", label, len(candidates),
              reached[0], params["num_samples"])
    return candidates, (None if candidates else "the model produced only empty candidates")
