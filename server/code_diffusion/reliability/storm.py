"""The typing storm: many keystrokes, each followed by an inline completion request.

``rate`` times a second one of ``documents`` open documents gets a one-character incremental
``didChange`` (mostly typing, sometimes a backspace) and a ``textDocument/inlineCompletion`` at
the cursor, for ``seconds`` seconds, over stdio against the probed server. On the first
``cancel_documents`` documents the client cancels its previous request before it sends the
next one (as VS Code does); on the others it leaves it to the server (latest wins).

Measured: crashes, the requests waiting per document (from the server's counters), whether an
answer was computed for a version that was no longer current, RSS from the first to the last
second, and the forward passes spent on requests that were superseded.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from code_diffusion.measure import percentile
from code_diffusion.reliability.client import Client
from code_diffusion.reliability.probe import COUNTERS
from code_diffusion.reliability.rpc import PROBE

TYPED = ("    total = 0\n    for item in items:\n        if item > limit:\n"
         "            total += item\n    return total\n\n")
REQUEST_CANCELLED = -32800
INTERNAL_ERROR = -32603


@dataclass
class Document:
    uri: str
    text: str
    cancel: bool
    version: int = 1
    typed: int = 0
    outstanding: dict[str, float] = field(default_factory=dict)

    def cursor(self) -> types.Position:
        line = self.text.count("\n")
        return types.Position(line=line, character=len(self.text) - self.text.rfind("\n") - 1)

    def keystroke(self) -> types.TextDocumentContentChangePartial:
        """Type the next character, or every 7th keystroke delete the last one."""
        end = self.cursor()
        self.version += 1
        self.typed += 1
        if self.typed % 7 == 0 and not self.text.endswith("\n"):
            self.text = self.text[:-1]
            start = types.Position(line=end.line, character=end.character - 1)
            return types.TextDocumentContentChangePartial(
                range=types.Range(start=start, end=end), text="")
        char = TYPED[self.typed % len(TYPED)]
        self.text += char
        return types.TextDocumentContentChangePartial(range=types.Range(start=end, end=end),
                                                      text=char)


def documents(count: int, cancel_documents: int) -> list[Document]:
    return [Document(f"file:///storm/module_{i}.py",
                     f"import math\n\n\ndef total_{i}(items, limit={i}):\n", i < cancel_documents)
            for i in range(count)]


def _inline(document: Document) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=document.uri),
        position=document.cursor(),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic))


def _percentile(values: list[float], share: float) -> float | None:
    return round(percentile(values, share), 1) if values else None


def _window_mean(samples: list[tuple[float, dict[str, float]]], start: float, end: float,
                 key: str) -> float:
    inside = [s[key] for t, s in samples if start <= t < end]
    return statistics.fmean(inside) if inside else float("nan")


class Storm:
    """The client side of one storm: what it sent, what came back, the samples it took."""

    def __init__(self, client: Client, docs: list[Document]) -> None:
        self.client, self.docs = client, docs
        self.outcomes: dict[str, int] = {"items": 0, "empty": 0, "cancelled": 0, "error": 0}
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.old_version_answers = 0
        self.max_outstanding = 0
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.queue_samples: list[int] = []
        self.pending: set[asyncio.Future[Any]] = set()
        self.started = time.monotonic()
        self.sampling = False

    async def open(self) -> None:
        """Open every document and wait for one answered request per document, in turn."""
        for doc in self.docs:
            self.client.text_document_did_open(types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=doc.uri, language_id="python",
                                                     version=doc.version, text=doc.text)))
        for doc in self.docs:
            await self.client.text_document_inline_completion_async(_inline(doc))

    def answered(self, doc: Document, msg_id: str, version: int, sent: float,
                 future: asyncio.Future[Any]) -> None:
        doc.outstanding.pop(msg_id, None)
        if future.cancelled():
            self.outcomes["cancelled"] += 1
            return
        error = future.exception()
        if isinstance(error, JsonRpcException) and error.code == REQUEST_CANCELLED:
            self.outcomes["cancelled"] += 1
        elif error is not None:
            self.outcomes["error"] += 1
            self.errors.append(f"{type(error).__name__}: {error}")
        else:
            result = future.result()
            items = len(result.items) if result is not None else 0
            self.outcomes["items" if items else "empty"] += 1
            self.latencies.append((time.monotonic() - sent) * 1000)
            if items and version != doc.version:
                self.old_version_answers += 1

    async def sample(self) -> None:
        """The server's memory, handles and waiting requests every quarter second."""
        while self.sampling:
            self.samples.append((time.monotonic() - self.started, self.client.sample()))
            self.queue_samples.append((await self.client.command(COUNTERS))["waitingNow"])
            await asyncio.sleep(0.25)

    def keystroke(self, tick: int) -> None:
        """One keystroke in the next document and an inline completion request at the cursor
        (cancelling the document's earlier requests first, if it cancels)."""
        client = self.client
        doc = self.docs[tick % len(self.docs)]
        if doc.cancel:
            for msg_id in list(doc.outstanding):
                client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        change = doc.keystroke()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri,
                                                                version=doc.version),
            content_changes=[change]))
        msg_id = f"storm-{tick}"
        sent = time.monotonic()
        future = asyncio.wrap_future(client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, _inline(doc), msg_id=msg_id))
        doc.outstanding[msg_id] = sent
        self.max_outstanding = max(self.max_outstanding, len(doc.outstanding))
        future.add_done_callback(
            lambda f, d=doc, m=msg_id, v=doc.version, s=sent: self.answered(d, m, v, s, f))
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)

    async def run(self, ticks: int, rate: float) -> float:
        """``ticks`` keystrokes at ``rate`` per second; the seconds it took."""
        self.started = time.monotonic()
        self.sampling = True
        sampling = asyncio.create_task(self.sample())
        for tick in range(ticks):
            await asyncio.sleep(max(0.0, self.started + tick / rate - time.monotonic()))
            if self.client.returncode is not None:
                break
            self.keystroke(tick)
        seconds = time.monotonic() - self.started
        self.sampling = False
        await sampling
        if self.pending:
            await asyncio.wait(self.pending, timeout=120)
        return seconds


async def run_storm(*, seconds: float = 20.0, rate: float = 50.0, count: int = 5,
                    cancel_documents: int = 2, command: list[str] | None = None,
                    env: dict[str, str] | None = None,
                    configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one storm against a new server process; returns the figures."""
    client = Client({"codeDiffusion": configuration or {}})
    await client.start(command or PROBE, env)
    ticks = int(seconds * rate)
    try:
        await client.initialize({}, process_id=None)
        await client.ready()
        storm = Storm(client, documents(count, cancel_documents))
        await storm.open()
        before = await client.command(COUNTERS)
        storm_seconds = await storm.run(ticks, rate)
        unanswered = sum(1 for f in storm.pending if not f.done())
        after = await client.command(COUNTERS)
        # After the storm a normal request is still served.
        final = await client.text_document_inline_completion_async(_inline(storm.docs[0]))
        alive = client.returncode is None
    finally:
        exit_code = await client.finish()
    return {
        "seconds": round(storm_seconds, 2), "rate": rate, "documents": count,
        "cancelling_documents": cancel_documents,
        "changes_sent": ticks, "requests_sent": ticks, "answers": storm.outcomes,
        "unanswered": unanswered, "errors": storm.errors[:10],
        "crashes": int(not alive) + _internal_errors(storm.errors) + len(client.unhandled),
        "unhandled": client.unhandled[:10], "exit_code": exit_code,
        "served_after": final is not None,
        "edits_asked": len(client.edits_asked),
        **_server_figures(before, after),
        **_sampled_figures(storm, storm_seconds),
        "max_outstanding_per_document_client": storm.max_outstanding,
        "answers_with_items_for_old_version_client": storm.old_version_answers,
        "latency_ms_p50": _percentile(storm.latencies, 0.5),
        "latency_ms_p95": _percentile(storm.latencies, 0.95),
    }


def _internal_errors(errors: list[str]) -> int:
    return sum(1 for e in errors if str(INTERNAL_ERROR) in e or "InternalError" in e)


def _server_figures(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the probed server counted during the storm."""
    passes = after["forwardPasses"] - before["forwardPasses"]
    wasted = after["forwardPassesSuperseded"] - before["forwardPassesSuperseded"]
    stopped = after["fillsSuperseded"] - before["fillsSuperseded"]
    return {
        "max_waiting_per_document": after["maxWaitingPerDocument"],
        "max_live_waiting_per_document": after["maxLiveWaitingPerDocument"],
        "superseded_deliveries": after["supersededDeliveries"],
        "loop_lag_ms": after["loopLagMs"],
        "max_concurrent_fills": after["maxConcurrentFills"],
        "stale_deliveries": after["staleDeliveries"],
        "worker_outcomes": {k: v - before["requests"].get(k, 0)
                            for k, v in after["requests"].items()},
        "fills": after["fills"] - before["fills"],
        "forward_passes": passes, "forward_passes_superseded": wasted,
        "forward_passes_superseded_pct": round(100 * wasted / passes, 1) if passes else 0.0,
        "fills_superseded": stopped,
        "forward_passes_per_superseded_fill": round(wasted / stopped, 2) if stopped else 0.0,
    }


def _sampled_figures(storm: Storm, seconds: float) -> dict[str, Any]:
    """Memory, handles, threads and waiting requests from the client's samples."""
    samples = storm.samples
    first = _window_mean(samples, 0.0, 1.0, "rss_mib")
    last_second = _window_mean(samples, seconds - 1.0, seconds + 1.0, "rss_mib")
    return {
        "max_waiting_sampled": max(storm.queue_samples, default=0),
        "rss_first_second_mib": round(first, 1), "rss_last_second_mib": round(last_second, 1),
        "rss_growth_pct": round((last_second - first) / first * 100, 2),
        "fds": [int(samples[0][1]["fds"]), int(samples[-1][1]["fds"])] if samples else None,
        "threads": [int(samples[0][1]["threads"]),
                    int(samples[-1][1]["threads"])] if samples else None,
    }
