"""The first minute in one run: cold start against ``import torch``, ghost text and a block
through the server against the same fill called directly, and the per-kind defaults' quality.

``code-diffusion bench --first-minute`` runs only this. Every figure comes from the same run on
the same machine, so they can be set side by side:

* ``import torch`` alone, in a fresh interpreter (the floor of any cold start);
* the server's cold start: process start → ``initialize`` answered → the first ghost text
  answered (asked right after ``initialized``: the model loads while ``initialize`` is answered);
* ghost text for a line and for a block through the server (``textDocument/inlineCompletion``,
  ``debounceMs: 0``), and the same fills called directly with the parameters the server uses for
  that kind of request, on weights loaded in the server's default precision; the difference
  is the server's own cost (JSON-RPC, document snapshot, worker hand-off, serialisation);
* the same line requests to the same server over a model that answers at once
  (:mod:`code_diffusion.bench.instant_server`): the server's own round trip, without the
  model's time and its noise;
* the quality of ghost text's default (one candidate) against the earlier default (three
  candidates, ranked) on HumanEval single-line infill (pass@1) and the held-out lines (exact
  match).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from code_diffusion import measure
from code_diffusion.bench import lsp, workloads
from code_diffusion.bench.fills import SettingRunner, score, summarise
from code_diffusion.bench.samplers import Setting
from code_diffusion.bench.workloads import BLOCK, HUMANEVAL_LINE, LINE, Request

WARMUP = 3
INSTANT_COMMAND = (sys.executable, "-m", "code_diffusion.bench.instant_server")
INSTANT_ROUNDS = 10
"""Each line request is sent this many times to the instant server."""
KINDS = {"ghost text (1 candidate)": "inline", "three candidates (earlier default)": "menu"}


def import_torch_ms(repeats: int = 3) -> float:
    """The median wall time of ``python -c "import torch"`` in a fresh interpreter."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        times.append((time.perf_counter() - began) * 1000)
    return round(measure.median(times), 1)


def kind_params(kind: str) -> dict[str, Any]:
    """The generation parameters the server's default settings give a request ``kind``."""
    from code_diffusion.lsp.config import Settings

    return Settings().generation_params(kind)


class FirstMinute:
    def __init__(self, requests: int, seed: int, cold_starts: int,
                 log: Callable[[str], None], model: str | None = None) -> None:
        self.count, self.seed, self.cold_starts, self.log = requests, seed, cold_starts, log
        self.model_path = model
        self.served = lsp.server_model(model)

    def run(self) -> dict[str, Any]:
        report: dict[str, Any] = {"date": measure.now_utc(), "machine": measure.describe()}
        self.log("import torch alone")
        report["import_torch_ms"] = import_torch_ms()
        from code_diffusion.engine.generator import CodeGenerator
        from code_diffusion.engine.loading import load_model
        from code_diffusion.engine.precision import describe
        from code_diffusion.lsp.config import InitOptions

        precision = InitOptions().precision  # the server's default, which the server runs
        self.model = load_model(self.model_path, device="cpu", precision=precision)
        self.generator = CodeGenerator(self.model)
        report["precision"] = describe(precision, "cpu")
        report["model"] = {"name": self.model.info.name, "path": self.model.info.path}
        tokenizer = self.model.denoiser.tokenizer

        def count(text: str) -> int:
            return len(tokenizer.encode(text, add_special_tokens=False))

        self.requests = {name: workloads.build(name, self.count + WARMUP, self.seed, count)
                         for name in (LINE, BLOCK, HUMANEVAL_LINE)}
        report.update(asyncio.run(self._through_server()))
        cold = report["first_completion_ms"]
        report["first_completion_over_import_torch"] = round(cold / report["import_torch_ms"],
                                                             3) if cold else None
        report["quality"] = self._quality()
        return report

    async def _through_server(self) -> dict[str, Any]:
        config = lsp.CONFIGURATION
        first = self.requests[LINE][0]
        colds = []
        for attempt in range(self.cold_starts):
            self.log(f"cold start {attempt + 1}/{self.cold_starts}")
            cold, _ = await lsp.cold_start(lsp.SERVER_COMMAND, config, first.text, first.start,
                                           initialization_options=self.served)
            colds.append(cold)
        session = await lsp.start(lsp.SERVER_COMMAND, config, self.served)
        try:
            figures = {name: await self._ghost_text(session, name) for name in (LINE, BLOCK)}
        finally:
            await session.client.close()
        figures["instant model"] = await self._instant()
        first_ms = [c.first_completion_ms for c in colds if c.first_completion_ms is not None]
        return {"initialize_ms": round(measure.median([c.initialize_ms for c in colds]), 1),
                "first_completion_ms": round(measure.median(first_ms), 1) if first_ms else None,
                "cold_starts": [vars(c) for c in colds], "lsp": figures}

    async def _ghost_text(self, session: lsp.Session, name: str) -> dict[str, Any]:
        """Each request through the server and directly; which goes first alternates, since
        the second run of the same fill is a few milliseconds faster (warm caches)."""
        params = kind_params("inline")
        self.log(f"ghost text through the server and directly: {name} "
                 f"({self.count} requests)")
        through, direct, differences, counts = [], [], [], []
        for index, request in enumerate(self.requests[name]):
            uri = f"file:///bench/first-minute/{name}/{index}.py"
            lsp.open_document(session, uri, request.text)
            if index % 2:
                direct_ms = self._direct(request, params)
                ms, items = await lsp.inline(session, uri, request.text, request.start)
            else:
                ms, items = await lsp.inline(session, uri, request.text, request.start)
                direct_ms = self._direct(request, params)
            if index >= WARMUP:
                through.append(ms)
                direct.append(direct_ms)
                differences.append(ms - direct_ms)
                counts.append(len(items))
        return {"requests": len(through), "candidates_asked": params["num_samples"],
                "most_items_answered": max(counts, default=0),
                "lsp": measure.summary(through), "direct": measure.summary(direct),
                "lsp_minus_direct_ms": measure.summary(differences)}

    def _direct(self, request: Request, params: dict[str, Any]) -> float:
        """The ms of ``request``'s fill called directly, as the server calls it."""
        began = time.perf_counter()
        self.generator.fill(request.text, request.start, language=request.language,
                            closers=True, require_passing=False, **params)
        return (time.perf_counter() - began) * 1000

    async def _instant(self) -> dict[str, Any]:
        self.log("the server's own round trip: line requests to a model that answers at once")
        session = await lsp.start(INSTANT_COMMAND, lsp.CONFIGURATION)
        times = []
        try:
            for index, request in enumerate(self.requests[LINE]):
                uri = f"file:///bench/instant/{index}.py"
                lsp.open_document(session, uri, request.text)
                for _ in range(INSTANT_ROUNDS):
                    ms, _ = await lsp.inline(session, uri, request.text, request.start)
                    if index >= WARMUP:
                        times.append(ms)
        finally:
            await session.client.close()
        return {"requests": len(times), "lsp": measure.summary(times)}

    def _quality(self) -> dict[str, Any]:
        runner = SettingRunner(self.model)
        settings = [Setting(kind, "d", label, params={**kind_params(kind), "seed": 0})
                    for label, kind in KINDS.items()]
        out: dict[str, Any] = {}
        for name in (HUMANEVAL_LINE, LINE):
            requests: list[Request] = self.requests[name][WARMUP:]
            self.log(f"quality of the per-kind defaults: {name} ({len(requests)} requests)")
            fills = [runner.fill(r, s) for r in requests for s in settings]
            score(requests, fills)
            out[name] = {"metric": workloads.QUALITY_METRIC[name], **{
                s.label: summarise([f for f in fills if f.setting == s.key]) for s in settings}}
        return out
