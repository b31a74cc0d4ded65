"""The worker: one thread that owns the model, fed from the asyncio loop.

All bookkeeping (which request waits, which one runs, what state the model is in) lives on the
event loop and is only touched there; the thread does nothing but load the model and run the job
functions it is handed, and reports back with ``loop.call_soon_threadsafe``. The rules:

- **Latest wins per key.** A new request with the same key (the language server uses the
  document URI and the request kind) supersedes the older one: a waiting one is dropped, a
  running one has its cancel flag set and its caller is answered at once. At most one request per
  key waits.
- **Stale work is dropped before it runs.** Each request carries ``is_current``; it is checked on
  the loop just before the request is handed to the thread.
- **Debounce.** A request may wait ``debounce`` seconds before it queues, so a burst of
  keystrokes costs one generation.
- **Fairness.** Waiting requests of different keys run in the order they were queued.
- **Cancellation is cooperative.** The job function receives ``should_stop``; the generator
  calls it between denoising steps.

No LSP types appear here, and nothing of the model but its ``info``: the loader and the jobs
are handed in, so the worker runs any model with any loader.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from code_diffusion.engine.interface import ModelInfo

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerState(enum.Enum):
    """The model's lifecycle, as the status notification shows it."""

    STOPPED = "stopped"
    LOADING = "loading"
    READY = "ready"
    BUSY = "busy"
    ERROR = "error"


class LoadedModel(Protocol):
    """All the worker knows of what the loader returns: its ``info`` for the status. The jobs
    the worker runs know the rest."""

    info: ModelInfo


Report = Callable[[str, int], None]
"""``report(message, percentage)``: a loading phase, for progress."""
Loader = Callable[[Any, Report], LoadedModel]
"""``load(options, report) -> model``: whatever the server passes in (``lsp/setup.py`` passes
the engine's ``load_generator``); runs on the worker thread."""
Job = Callable[[Any, Callable[[], bool]], T]
"""``job(model, should_stop) -> result``; runs on the worker thread."""


class WorkerError(Exception):
    """A request the worker did not run to the end, and why."""


class Superseded(WorkerError):
    """A newer request with the same key replaced this one."""


class StaleDocument(WorkerError):
    """The document changed after the request was made."""


class ModelUnavailable(WorkerError):
    """The model failed to load; the message says why and what to do."""


class WorkerStopped(WorkerError):
    """The worker was stopped (the server is shutting down)."""


@dataclass(frozen=True)
class WorkerStatus:
    """A snapshot of the worker, sent on every state change and after each request."""

    state: WorkerState
    info: ModelInfo | None = None
    message: str | None = None
    last_latency_ms: float | None = None
    progress: int | None = None


@dataclass(eq=False)
class _Request:
    key: Hashable
    job: Job[Any]
    is_current: Callable[[], bool]
    future: asyncio.Future[Any]
    cancel: threading.Event = field(default_factory=threading.Event)

    def fail(self, error: BaseException) -> None:
        """Stop the request and answer its caller with ``error`` (if not answered yet)."""
        self.cancel.set()
        if not self.future.done():
            self.future.set_exception(error)


class ModelWorker:
    """Owns the model on one thread and runs requests on it, latest-wins per key.

    Parameters
    ----------
    load
        ``load(options, report) -> model``; runs on the worker thread. ``options`` is whatever
        :meth:`start` is given; a load error's message should name what failed to load.
    on_status
        Called on the loop with a :class:`WorkerStatus` on every state change, every loading
        phase and after every request.
    """

    def __init__(self, load: Loader, on_status: Callable[[WorkerStatus], None]) -> None:
        self._load = load
        self._on_status = on_status
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._model: LoadedModel | None = None  # touched on the worker thread only
        self._waiting: OrderedDict[Hashable, _Request] = OrderedDict()
        self._latest: dict[Hashable, _Request] = {}
        self._running: _Request | None = None
        self._loads = 0  # loads queued and not finished
        self._closed = False
        self.status = WorkerStatus(WorkerState.STOPPED)
        self.options: Any = None
        """The options of the latest :meth:`start` (what is loaded, or loading)."""

    @property
    def state(self) -> WorkerState:
        return self.status.state

    # -- lifecycle (call on the loop) -----------------------------------------------------------

    def start(self, options: Any) -> None:
        """Load (or reload) the model with ``options`` in the background."""
        if self._closed:
            raise WorkerStopped("the worker is stopped")
        self._loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = threading.Thread(target=self._thread_main, name="code-diffusion-model",
                                            daemon=True)
            self._thread.start()
        if self._running is not None:
            self._running.fail(Superseded("the model is being reloaded"))
        self._loads += 1
        self.options = options
        self._set_status(WorkerState.LOADING, info=None, last_latency_ms=None, progress=0,
                         message="Loading the model")
        self._inbox.put(lambda: self._load_on_thread(options))

    def stop(self) -> None:
        """Fail every request and let the thread end after its current step."""
        if self._closed:
            return
        self._closed = True
        for request in [*self._waiting.values(), *self._latest.values()]:
            request.fail(WorkerStopped("the server is shutting down"))
        if self._running is not None:
            self._running.fail(WorkerStopped("the server is shutting down"))
        self._waiting.clear()
        self._inbox.put(None)
        self._set_status(WorkerState.STOPPED)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; ``True`` if it did."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # -- requests (call on the loop) ------------------------------------------------------------

    async def run(self, key: Hashable, job: Job[T], *, debounce: float = 0.0,
                  is_current: Callable[[], bool] = lambda: True) -> T:
        """Run ``job`` on the model thread, latest-wins for ``key``.

        Raises
        ------
        Superseded, StaleDocument, ModelUnavailable, WorkerStopped
            When the request is not run to the end; the message says why.
        asyncio.CancelledError
            When the caller's task is cancelled; the job's cancel flag is set.
        """
        self._check_usable()
        loop = asyncio.get_running_loop()
        request = _Request(key, job, is_current, loop.create_future())
        request.future.add_done_callback(_retrieve)  # failed early, it may never be awaited
        self._supersede(key, request)
        try:
            if debounce > 0:
                await asyncio.sleep(debounce)
            if self._latest.get(key) is not request:
                raise Superseded("a newer request for the same document replaced this one")
            self._check_usable()
            self._waiting[key] = request
            self._dispatch()
            result = await request.future
            # The fill ended before a change reached drop_stale, but the change may have been
            # handled between the result and this wake-up: it is not delivered then either.
            if not request.is_current():
                raise StaleDocument("the document changed while the model ran")
            return result
        except asyncio.CancelledError:
            request.cancel.set()
            raise
        finally:
            if self._waiting.get(key) is request:
                del self._waiting[key]
            if self._latest.get(key) is request:
                del self._latest[key]

    def drop_stale(self) -> int:
        """Stop every waiting or running request whose document changed; return how many."""
        requests = {id(r): r for r in [*self._latest.values(), self._running] if r is not None}
        stale = [r for r in requests.values() if not r.cancel.is_set() and not r.is_current()]
        for request in stale:
            request.fail(StaleDocument("the document changed after the request was made"))
            if self._waiting.get(request.key) is request:
                del self._waiting[request.key]
        return len(stale)

    def _check_usable(self) -> None:
        if self._closed:
            raise WorkerStopped("the server is shutting down")
        if self.state is WorkerState.ERROR:
            raise ModelUnavailable(self.status.message or "the model failed to load")

    def supersede(self, key: Hashable) -> None:
        """Stop the request waiting or running for ``key``: a newer one was answered without
        the model."""
        self._supersede(key, None)

    def _supersede(self, key: Hashable, request: _Request | None) -> None:
        older = self._latest.pop(key, None)
        if older is not None:
            older.fail(Superseded("a newer request for the same document replaced this one"))
            self._waiting.pop(key, None)
        if self._running is not None and self._running.key == key:
            self._running.fail(Superseded("a newer request for the same document replaced this"))
        if request is not None:
            self._latest[key] = request

    def _dispatch(self) -> None:
        """Hand the next waiting request to the thread, if it is free and the model is ready."""
        while self._running is None and self._loads == 0 and self._waiting:
            _, request = self._waiting.popitem(last=False)
            if request.future.done():
                continue
            if not request.is_current():
                request.fail(StaleDocument("the document changed before the request ran"))
                continue
            self._running = request
            # the thread starts before the status goes out (serialising it takes a while)
            self._inbox.put(lambda r=request: self._run_on_thread(r))
            self._set_status(WorkerState.BUSY)

    def _finish(self, request: _Request, result: Any, error: BaseException | None,
                elapsed_ms: float) -> None:
        if self._running is request:
            self._running = None
        if not request.future.done():
            if error is not None:
                request.future.set_exception(error)
            else:
                request.future.set_result(result)
        latency = elapsed_ms if error is None else self.status.last_latency_ms
        if self._closed:
            return
        self._dispatch()
        state = WorkerState.BUSY if self._running is not None else WorkerState.READY
        if self._loads == 0:
            self._set_status(state, last_latency_ms=latency, message=_failure_message(error))

    def _loaded(self, model_info: ModelInfo | None, error: str | None) -> None:
        self._loads -= 1
        if self._closed or self._loads > 0:
            return
        if error is not None:
            self._set_status(WorkerState.ERROR, info=None, message=error)
            for request in list(self._waiting.values()):
                request.fail(ModelUnavailable(error))
            self._waiting.clear()
            return
        self._set_status(WorkerState.READY, info=model_info, message=None)
        self._dispatch()

    def _set_status(self, state: WorkerState, **changes: Any) -> None:
        values = {"info": self.status.info, "message": None,
                  "last_latency_ms": self.status.last_latency_ms, "progress": None}
        values.update(changes)
        self.status = WorkerStatus(state, **values)
        try:
            self._on_status(self.status)
        except Exception:  # a broken listener must not break the worker
            log.exception("status listener failed")

    # -- the thread -----------------------------------------------------------------------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed after the check
            loop.call_soon_threadsafe(callback, *args)

    def _thread_main(self) -> None:
        while (work := self._inbox.get()) is not None:
            work()
        self._model = None

    def _load_on_thread(self, options: Any) -> None:
        def report(message: str, percentage: int) -> None:
            self._post(self._loading_phase, message, percentage)

        self._model = None
        try:
            self._model = self._load(options, report)
        except Exception as exc:  # every load failure becomes the error state, with its reason
            log.debug("the model failed to load", exc_info=True)
            self._post(self._loaded, None, _load_error_message(options, exc))
            return
        self._post(self._loaded, self._model.info, None)

    def _loading_phase(self, message: str, percentage: int) -> None:
        if self.state is WorkerState.LOADING and not self._closed:
            self._set_status(WorkerState.LOADING, message=message, progress=percentage)

    def _run_on_thread(self, request: _Request) -> None:
        started = time.perf_counter()
        result: Any = None
        error: BaseException | None = None
        if self._model is None:
            error = ModelUnavailable("no model is loaded")
        elif request.cancel.is_set():
            error = Superseded("the request was cancelled before it ran")
        else:
            try:
                result = request.job(self._model, request.cancel.is_set)
            except Exception as exc:  # handed to the caller on the loop, which decides
                error = exc
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self._post(self._finish, request, result, error, elapsed_ms)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _failure_message(error: BaseException | None) -> str | None:
    """What the status says after a request failed unexpectedly (not a refusal or a cancel)."""
    from code_diffusion.engine.errors import CodeDiffusionError

    if getattr(error, "show_in_status", False):
        return str(error)  # the remote backend is down: shown until a request succeeds
    if error is None or isinstance(error, WorkerError | CodeDiffusionError):
        return None
    return (f"the last request failed ({type(error).__name__}: {error}); the model is still "
            "loaded and serves the next one")


def _load_error_message(options: Any, exc: Exception) -> str:
    """The error state's message: the options say what they load and which settings fix it
    (``describe_failure``, as :class:`~code_diffusion.engine.loading.LoadOptions` does)."""
    describe = getattr(options, "describe_failure", None)
    if describe is not None:
        return describe(exc)
    return (f"Could not load the model: {exc}. Fix the modelPath/device/precision settings and "
            f"run codeDiffusion.restartModel.")
