"""The long session: thousands of requests in sequence, watching memory, file handles, threads.

Each cycle types one character into the open document and sends four requests, one after the
other: ``inlineCompletion`` and ``completion`` (both run the model), ``codeAction`` at the
cursor and the ``codeDiffusion.status`` command. Every 50 cycles the document is closed and a
new one is opened, so per-document state that is never released would show. The server
process is sampled every ``sample_every`` requests. It runs the plain ``code-diffusion serve``
by default, so nothing but the server itself is in the memory figures.
"""

from __future__ import annotations

import time
from typing import Any

from lsprotocol import types

from code_diffusion.measure import median
from code_diffusion.reliability.client import Client
from code_diffusion.reliability.probe import COUNTERS
from code_diffusion.reliability.rpc import SERVE
from code_diffusion.reliability.storm import Document

LIGHT = {"numSamples": 1, "maxLength": 16, "debounceMs": 0}
"""Live settings that keep each model run short: the session is about leaks, not quality."""
REQUESTS_PER_CYCLE = 4
CYCLES_PER_DOCUMENT = 50


def _open(client: Client, doc: Document) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=doc.uri, language_id="python",
                                             version=doc.version, text=doc.text)))


def _new_document(number: int) -> Document:
    return Document(f"file:///session/file_{number}.py",
                    f"import os\n\n\ndef handler_{number}(items, limit=3):\n", cancel=False)


async def _cycle(client: Client, doc: Document) -> list[str]:
    """One keystroke and four requests; the kinds of answer received."""
    change = doc.keystroke()
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
        content_changes=[change]))
    ident = types.TextDocumentIdentifier(uri=doc.uri)
    cursor = doc.cursor()
    kinds = []
    inline = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=ident, position=cursor,
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    kinds.append("inline" if inline is not None else "none")
    menu = await client.text_document_completion_async(types.CompletionParams(
        text_document=ident, position=cursor))
    kinds.append("completion" if menu is not None else "none")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=ident, range=types.Range(start=cursor, end=cursor),
        context=types.CodeActionContext(diagnostics=[])))
    kinds.append("codeAction" if actions is not None else "none")
    status = await client.command("codeDiffusion.status")
    kinds.append("status" if isinstance(status, dict) and "state" in status else "none")
    return kinds


async def run_session(*, requests: int = 10_000, sample_every: int = 100,
                      command: list[str] | None = None, env: dict[str, str] | None = None,
                      configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one long session against a new server process; returns the figures."""
    client = Client({"codeDiffusion": {**LIGHT, **(configuration or {})}})
    await client.start(command or SERVE, env)
    samples: list[tuple[int, dict[str, float]]] = []
    answered = failed = 0
    errors: list[str] = []
    started = time.monotonic()
    try:
        await client.initialize({}, process_id=None)
        await client.ready()
        number = 0
        doc = _new_document(number)
        _open(client, doc)
        cycles = max(1, requests // REQUESTS_PER_CYCLE)
        for cycle in range(cycles):
            if cycle and cycle % CYCLES_PER_DOCUMENT == 0:
                client.text_document_did_close(types.DidCloseTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=doc.uri)))
                number += 1
                doc = _new_document(number)
                _open(client, doc)
            try:
                kinds = await _cycle(client, doc)
                answered += sum(k != "none" for k in kinds)
                failed += sum(k == "none" for k in kinds)
            except Exception as exc:  # an error answer: counted, the session goes on
                failed += 1
                errors.append(f"{type(exc).__name__}: {exc}")
                if client.returncode is not None:
                    break
            done = (cycle + 1) * REQUESTS_PER_CYCLE
            if done % sample_every < REQUESTS_PER_CYCLE or cycle == cycles - 1:
                samples.append((done, client.sample()))
        try:  # only the probed server counts fills and forward passes
            counters = await client.command(COUNTERS)
        except Exception:
            counters = {}
        alive = client.returncode is None
    finally:
        exit_code = await client.finish()
    elapsed = time.monotonic() - started
    figures = _figures(samples, answered, failed, errors, counters, alive, exit_code, elapsed,
                       client.unhandled)
    figures["edits_asked"] = len(client.edits_asked)
    return figures


def _figures(samples: list[tuple[int, dict[str, float]]], answered: int, failed: int,
             errors: list[str], counters: dict[str, Any], alive: bool, exit_code: int | None,
             elapsed: float, unhandled: list[str]) -> dict[str, Any]:
    """Growth is measured after a warm-up (the first 10 % of the samples)."""
    total = samples[-1][0] if samples else 0
    warm = samples[max(1, len(samples) // 10):] or samples
    window = max(1, len(warm) // 10)
    head, tail = warm[:window], warm[-window:]
    rss_start = median([s["rss_mib"] for _, s in head])
    rss_end = median([s["rss_mib"] for _, s in tail])
    per_thousand = ((rss_end - rss_start) / ((tail[-1][0] - head[0][0]) / 1000)
                    if tail[-1][0] > head[0][0] else 0.0)
    fds = [int(s["fds"]) for _, s in warm]
    threads = [int(s["threads"]) for _, s in warm]
    return {
        "requests": total, "answered": answered, "failed": failed, "errors": errors[:10],
        "crashes": int(not alive) + len(unhandled), "exit_code": exit_code,
        "seconds": round(elapsed, 1), "fills": counters.get("fills"),
        "forward_passes": counters.get("forwardPasses"),
        "rss_start_mib": round(rss_start, 1), "rss_end_mib": round(rss_end, 1),
        "rss_growth_pct": round((rss_end - rss_start) / rss_start * 100, 2),
        "rss_mib_per_1000_requests": round(per_thousand, 2),
        "fds_min_max": [min(fds), max(fds)] if fds else None,
        "fds_start_end": [fds[0], fds[-1]] if fds else None,
        "threads_min_max": [min(threads), max(threads)] if threads else None,
        "samples": [[n, round(s["rss_mib"], 1), int(s["fds"]), int(s["threads"])]
                    for n, s in samples],
    }
