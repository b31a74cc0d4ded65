"""The probed server: ``code-diffusion serve`` with read-only counters, for measurements only.

``python -m code_diffusion.reliability.probe [--model DIR]`` runs the same server as
``code-diffusion serve`` (``create_server`` with every feature and the real loader) over stdio,
with two wrappers that observe without changing behaviour:

- around the model: every ``fill`` is counted with the forward passes it ran and how it ended
  (finished, or stopped because its request was superseded or its document changed);
- around ``ModelWorker.run``: every request is counted from the moment it reaches the worker
  until it is answered, so the number of requests *waiting* per document (reached the worker,
  not started on the model thread, not answered) is known at every moment, and a request whose
  generation finished after its document changed is caught.

The command ``codeDiffusionProbe.counters`` returns them (see :meth:`Probe.snapshot`).

Fault injection, for tests only: ``CODE_DIFFUSION_PROBE_FAIL_FILLS=3,7`` makes the 3rd and 7th
``fill`` raise :class:`InjectedFault` before it runs. Nothing else reads this variable, and the
normal ``serve`` command never loads this module.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, NoReturn

COUNTERS = "codeDiffusionProbe.counters"
FAIL_FILLS = "CODE_DIFFUSION_PROBE_FAIL_FILLS"


class InjectedFault(RuntimeError):
    """The exception the probe raises inside the worker when asked to."""


def _document(key: Hashable) -> str:
    """The document of a worker key (``(uri, lane)`` in the language server)."""
    return str(key[0]) if isinstance(key, tuple) and key else str(key)


class Probe:
    """Counters, updated from the event loop and from the model thread under one lock."""

    def __init__(self, fail_fills: frozenset[int] = frozenset()) -> None:
        self.fail_fills = fail_fills
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._latest: dict[Hashable, int] = {}
        self._queued: dict[str, dict[int, Hashable]] = {}
        self.max_waiting: dict[str, int] = {}
        self.max_live: dict[str, int] = {}
        self.outcomes: Counter[str] = Counter()
        self.fills = 0
        self.fills_stopped = 0
        self.passes = 0
        self.passes_superseded = 0
        self.stale_deliveries = 0
        self.superseded_deliveries = 0
        self.running = 0
        self.max_running = 0
        self.lags = LagHistogram()
        self._lag_task: asyncio.Task[None] | None = None
        self.started = time.monotonic()

    # -- requests, on the loop (``leave_queue`` also on the model thread) -----------------------

    def admit(self, key: Hashable) -> int:
        """A request reached the worker; its ticket. Newer tickets of a key supersede older."""
        with self._lock:
            ticket = next(self._tickets)
            self._latest[key] = ticket
            document = _document(key)
            queued = self._queued.setdefault(document, {})
            queued[ticket] = key
            live = sum(1 for t, k in queued.items() if self._latest.get(k) == t)
            self.max_waiting[document] = max(self.max_waiting.get(document, 0), len(queued))
            self.max_live[document] = max(self.max_live.get(document, 0), live)
            return ticket

    def leave_queue(self, key: Hashable, ticket: int) -> None:
        with self._lock:
            self._queued.get(_document(key), {}).pop(ticket, None)

    def answered(self, outcome: str, stale: bool = False, key: Hashable = None,
                 ticket: int = 0) -> None:
        """A request's worker call ended. ``ticket`` is given when the model's outcome was
        delivered: a newer request of the same key must have stopped that delivery."""
        with self._lock:
            self.outcomes[outcome] += 1
            self.stale_deliveries += stale
            if ticket and self._latest.get(key) != ticket:
                self.superseded_deliveries += 1

    def watch_loop(self) -> None:
        """Start measuring how late the event loop wakes up (call on the loop, once)."""
        if self._lag_task is None:
            self._lag_task = asyncio.get_running_loop().create_task(self._lag())

    async def _lag(self) -> None:
        while True:
            began = time.monotonic()
            await asyncio.sleep(0.01)
            self.lags.add(time.monotonic() - began - 0.01)

    # -- fills, on the model thread -------------------------------------------------------------

    def fill_started(self) -> int:
        with self._lock:
            self.fills += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            return self.fills

    def fill_ended(self, passes: int, superseded: bool) -> None:
        with self._lock:
            self.running -= 1
            self.passes += passes
            if superseded:
                self.fills_stopped += 1
                self.passes_superseded += passes

    def snapshot(self) -> dict[str, Any]:
        """What ``codeDiffusionProbe.counters`` answers."""
        with self._lock:
            return {
                "waitingNow": sum(len(q) for q in self._queued.values()),
                "maxWaitingPerDocument": max(self.max_waiting.values(), default=0),
                "maxLiveWaitingPerDocument": max(self.max_live.values(), default=0),
                "supersededDeliveries": self.superseded_deliveries,
                "loopLagMs": self.lags.figures(),
                "documents": len(self.max_waiting),
                "requests": dict(self.outcomes),
                "staleDeliveries": self.stale_deliveries,
                "fills": self.fills,
                "fillsSuperseded": self.fills_stopped,
                "forwardPasses": self.passes,
                "forwardPassesSuperseded": self.passes_superseded,
                "maxConcurrentFills": self.max_running,
                "threads": sorted(t.name for t in threading.enumerate()),
                "uptimeS": round(time.monotonic() - self.started, 1),
            }


class LagHistogram:
    """How late the event loop woke up, in fixed buckets: constant memory however long the
    server runs (a growing list would show up as a leak in the measurements)."""

    BOUNDS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

    def __init__(self) -> None:
        self.counts = [0] * (len(self.BOUNDS_MS) + 1)
        self.max_ms = 0.0

    def add(self, seconds: float) -> None:
        ms = seconds * 1000
        self.max_ms = max(self.max_ms, ms)
        self.counts[bisect.bisect_left(self.BOUNDS_MS, ms)] += 1

    def _quantile(self, share: float) -> float:
        """The bucket bound below which ``share`` of the samples fall."""
        wanted, seen = share * sum(self.counts), 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= wanted:
                return float(self.BOUNDS_MS[index]) if index < len(self.BOUNDS_MS) else (
                    round(self.max_ms, 1))
        return round(self.max_ms, 1)

    def figures(self) -> dict[str, float]:
        if not any(self.counts):
            return {}
        return {"p50_below": self._quantile(0.5), "p99_below": self._quantile(0.99),
                "max": round(self.max_ms, 1), "samples": sum(self.counts)}


class ProbedModel:
    """Wraps the loaded model: counts each fill's forward passes and how it ended."""

    def __init__(self, inner: Any, probe: Probe) -> None:
        self.inner = inner
        self.probe = probe
        self.info = inner.info

    def fill(self, text: str, start: int, end: int | None = None, *,
             on_step: Callable[[Any], None] | None = None,
             should_stop: Callable[[], bool] | None = None, **params: Any) -> Any:
        number = self.probe.fill_started()
        passes = [0]

        def step(state: Any) -> None:
            passes[0] = int(getattr(state, "forward_passes", passes[0] + 1))
            if on_step is not None:
                on_step(state)

        try:
            if number in self.probe.fail_fills:
                raise InjectedFault(f"fault injected into fill {number} "
                                    f"({FAIL_FILLS}={os.environ.get(FAIL_FILLS, '')})")
            result = self.inner.fill(text, start, end, on_step=step, should_stop=should_stop,
                                     **params)
            passes[0] = int(getattr(result, "forward_passes", passes[0]))
            return result
        finally:
            stopped = should_stop is not None and should_stop()
            self.probe.fill_ended(passes[0], stopped)


def probed_loader(load: Callable[..., Any], probe: Probe) -> Callable[..., Any]:
    def loader(options: Any, report: Callable[[str, int], None]) -> ProbedModel:
        return ProbedModel(load(options, report), probe)

    return loader


def probe_worker(worker: Any, probe: Probe) -> None:
    """Wrap ``worker.run`` so every request is counted from arrival to answer."""
    from code_diffusion.engine.errors import CodeDiffusionError, GenerationCancelled
    from code_diffusion.worker import WorkerError

    original = worker.run

    async def run(key: Hashable, job: Callable[..., Any], *, debounce: float = 0.0,
                  is_current: Callable[[], bool] = lambda: True) -> Any:
        probe.watch_loop()
        queued = [True]
        lock = threading.Lock()

        def leave() -> None:
            with lock:
                if queued[0]:
                    queued[0] = False
                    probe.leave_queue(key, ticket)

        def probed_job(model: Any, should_stop: Callable[[], bool]) -> Any:
            leave()
            return job(model, should_stop)

        ticket = probe.admit(key)
        try:
            result = await original(key, probed_job, debounce=debounce, is_current=is_current)
        except (WorkerError, GenerationCancelled) as exc:  # not run to the end, on purpose
            probe.answered(type(exc).__name__)
            raise
        except CodeDiffusionError:  # the model ran to the end and had nothing to offer
            probe.answered("finished", not is_current(), key, ticket)
            raise
        except asyncio.CancelledError:  # $/cancelRequest
            probe.answered("cancelled")
            raise
        except Exception as exc:
            probe.answered(f"failed: {type(exc).__name__}")
            raise
        finally:
            leave()
        probe.answered("finished", not is_current(), key, ticket)
        return result

    worker.run = run


def build_server(load: Callable[..., Any] | None = None, *, model_path: str | None = None,
                 probe: Probe | None = None) -> Any:
    """The full server around ``load`` (default: the real loader), with the probe attached."""
    from code_diffusion.engine.loading import load_generator
    from code_diffusion.lsp import create_server

    if probe is None:
        raw = os.environ.get(FAIL_FILLS, "")
        probe = Probe(frozenset(int(n) for n in raw.replace(" ", "").split(",") if n))
    server = create_server(probed_loader(load or load_generator, probe), model_path=model_path)
    probe_worker(server.worker, probe)

    def counters(ls: Any, *args: Any) -> dict[str, Any]:
        return probe.snapshot()

    server.command(COUNTERS)(counters)
    server.probe = probe
    return server


def serve(server: Any) -> NoReturn:
    """Serve over stdio and exit as ``code-diffusion serve`` does."""
    from code_diffusion.commands.serve import exit_now
    from code_diffusion.lsp.logging import configure_logging

    transport = sys.stdout.buffer
    sys.stdout = sys.stderr
    configure_logging(None)
    server.start_io(sys.stdin.buffer, transport)
    exit_now(server.exit_code)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m code_diffusion.reliability.probe",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", metavar="DIR", help="model directory (default: embedded)")
    args = parser.parse_args(argv)
    serve(build_server(model_path=args.model))


if __name__ == "__main__":
    sys.exit(main())
