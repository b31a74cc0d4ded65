"""One benchmark run, start to end: load, warm up, measure, score, summarise."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from code_diffusion import measure
from code_diffusion.bench import lsp, passes, samplers, scaling, workloads
from code_diffusion.bench.fills import Fill, SettingRunner, run_side_by_side, score, summarise
from code_diffusion.bench.workloads import ACTION, BLOCK, LINE, Request

LSP_WORKLOADS = (LINE, BLOCK, ACTION)
WARMUP = 3


@dataclass
class Options:
    model: str | None = None
    requests: int = 50
    quick: bool = False
    seed: int = 0
    cold_starts: int = 3
    lsp: bool = True
    timeout: float = 10.0
    workers: int = 2
    workloads: tuple[str, ...] = workloads.WORKLOADS
    profile: Path | None = None
    """Profile the shipped default on the line and block workloads; call trees go here."""
    log: Callable[[str], None] = field(default=lambda message: print(message, file=sys.stderr,
                                                                       flush=True))


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


class Benchmark:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.log = options.log
        self.fills: list[Fill] = []
        self.lsp_samples: dict[str, dict[str, list[float]]] = {}

    def run(self) -> dict[str, Any]:
        from code_diffusion.engine.loading import load_model

        opts, began = self.options, time.perf_counter()
        report: dict[str, Any] = {"date": measure.now_utc(), "machine": measure.describe()}
        loaded = time.perf_counter()
        self.model = load_model(opts.model, device="cpu")
        report["model"] = {**self.model.info.to_json(),
                           "load_ms": round((time.perf_counter() - loaded) * 1000, 1),
                           "pass_threads": self.model.threads}
        tokenizer = self.model.denoiser.tokenizer
        self.tokenizer = tokenizer

        def count(text: str) -> int:
            return len(tokenizer.encode(text, add_special_tokens=False))

        count_requests = opts.requests + WARMUP
        self.requests = {name: workloads.build(name, count_requests, opts.seed, count)
                         for name in opts.workloads}
        self.settings = samplers.settings()
        self.default = next(s for s in self.settings if s.key == samplers.DEFAULT)
        self.reference = next(s for s in self.settings if s.key == samplers.REFERENCE)
        self.runner = SettingRunner(self.model, opts.model)
        self._warm_up()
        report["workloads"] = self._side_by_side()
        report["scaling"] = self._scaling()
        self.log("one forward pass, configuration by configuration")
        report["pass_costs"] = passes.pass_costs(self.model, self.runner.weights("bfloat16"),
                                                 repeats=5 if opts.quick else 15)
        if opts.profile is not None:
            report["profile"] = self._profile(opts.profile)
        self.log("one forward pass under torch.compile")
        report["torch_compile"] = passes.compiled_cost(self.model, repeats=5 if opts.quick else 15)
        if opts.lsp:
            report.update(asyncio.run(self._through_server()))
        self._score(report)
        report["ratios"] = self._ratios(report["workloads"])
        report["peak_rss_mb"] = {**report.get("peak_rss_mb", {}),
                                 "bench_process": round(measure.own_peak_rss_mb(), 1)}
        report["bench_seconds"] = round(time.perf_counter() - began, 1)
        return report

    # -- phases --------------------------------------------------------------------------------
    def _measured(self, name: str) -> list[Request]:
        return self.requests[name][WARMUP:]

    def _warm_up(self) -> None:
        self.log("warming up")
        for name, requests in self.requests.items():
            for setting in self.settings:
                if setting.runs_on(name):
                    self.runner.fill(requests[0], setting)

    def _side_by_side(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.requests:
            requests = self._measured(name)
            chosen = [s for s in self.settings if s.runs_on(name)]
            self.log(f"side by side: {name} ({len(requests)} requests × "
                     f"{len(chosen)} settings)")
            fills = run_side_by_side(self.runner, requests, chosen)
            self.fills.extend(fills)
            for setting in chosen:
                row = summarise([f for f in fills if f.setting == setting.key])
                self.log(f"  {setting.key}: p50 {row['p50_ms']} ms, {row['forward_passes']} "
                         f"passes, {row['tokens_per_forward']} tokens/pass")
            out[name] = {"description": workloads.DESCRIPTIONS[name],
                         "quality_metric": workloads.QUALITY_METRIC[name],
                         "requests": len(requests),
                         "samplers": {s.key: {"label": s.label, "group": s.group}
                                      for s in chosen}}
        return out

    def _scaling(self) -> dict[str, Any]:
        count = 3 if self.options.quick else max(5, min(20, self.options.requests // 3))
        self.log(f"scaling: completion length and context ({count} requests each)")
        blocks = self.requests.get(BLOCK) or next(iter(self.requests.values()))
        lines = self.requests.get(LINE) or blocks
        lengths = scaling.completion_length(self.runner, blocks[WARMUP:WARMUP + count],
                                            self.default, self.reference)
        contexts = scaling.context_size(self.runner, lines[WARMUP:], self.default,
                                        self.tokenizer)
        return {"completion_length": lengths, "context": contexts,
                "max_context": self.model.info.max_context}

    def _profile(self, folder: Path) -> dict[str, Any]:
        from code_diffusion.bench.profile import profile

        out = {}
        for name in (LINE, BLOCK):
            if name not in self.requests:
                continue
            requests = self._measured(name)
            self.log(f"profiling the shipped default: {name} ({len(requests)} requests)")
            out[name] = {"requests": len(requests), "call_tree": str(folder / f"{name}.txt"),
                         **profile(lambda rs=requests: [self.runner.fill(r, self.default)
                                                        for r in rs],
                                   folder / f"{name}.txt")}
        return out

    async def _through_server(self) -> dict[str, Any]:
        opts, config = self.options, lsp.CONFIGURATION
        served = lsp.server_model(opts.model)  # the bench's model, not always the embedded one
        first = (self.requests.get(LINE) or next(iter(self.requests.values())))[0]
        colds, bares, rss = [], [], []
        for attempt in range(max(1, opts.cold_starts)):
            self.log(f"cold start {attempt + 1}/{opts.cold_starts}")
            cold, peak = await lsp.cold_start(lsp.SERVER_COMMAND, config, first.text,
                                              first.start, initialization_options=served)
            colds.append(cold)
            bare, _ = await lsp.cold_start(lsp.BARE_COMMAND, {}, "", 0, completion=False)
            bares.append(bare)
            rss.append(peak)
        # the server in the bench model's precision, so the direct call compares like with like
        session = await lsp.start(lsp.SERVER_COMMAND, config,
                                  {**served, "precision": self.model.info.precision})
        figures: dict[str, Any] = {}
        try:
            for name in LSP_WORKLOADS:
                if name in self.requests:
                    figures[name] = await self._lsp_workload(session, name)
            typing = await self._type_through(session) if LINE in self.requests else None
            server_rss = measure.peak_rss_mb(session.client.pid) if session.client.pid else None
        finally:
            await session.client.close()
        init = measure.median([c.initialize_ms for c in colds])
        bare_init = measure.median([b.initialize_ms for b in bares])
        first_ms = [c.first_completion_ms for c in colds if c.first_completion_ms is not None]
        line = figures.get(LINE) or next(iter(figures.values()), {})
        return {
            "lsp_over_direct": line.get("lsp_over_direct"),
            "initialize_ms": round(init, 1),
            "bare_initialize_ms": round(bare_init, 1),
            "initialize_over_bare": _ratio(init, bare_init),
            "first_completion_ms": round(measure.median(first_ms), 1) if first_ms else None,
            "cold_starts": [vars(c) for c in colds],
            "lsp": figures,
            "type_through": typing,
            "peak_rss_mb": {"server": server_rss,
                            "server_cold_start": max((r for r in rss if r), default=None)},
        }

    async def _lsp_workload(self, session: lsp.Session, name: str) -> dict[str, Any]:
        requests = self.requests[name]
        self.log(f"through the server: {name} ({len(requests) - WARMUP} requests)")
        through, direct, empty = [], [], 0
        hole = {True: "auto", False: "span"}
        for index, request in enumerate(requests):
            uri = f"file:///bench/{name}/{index}.py"
            lsp.open_document(session, uri, request.text)
            # which goes first alternates: a fill run again right after is faster (warm caches)
            if index % 2:
                fill = self.runner.fill(request, self._kind_setting(request),
                                        hole=hole[request.insertion])
            if request.insertion:
                ms, items = await lsp.inline(session, uri, request.text, request.start)
                empty += not items and index >= WARMUP
            else:
                ms, edited = await lsp.regenerate(session, uri, request.text, request.start,
                                                  request.end)
                empty += not edited and index >= WARMUP
            if not index % 2:
                fill = self.runner.fill(request, self._kind_setting(request),
                                        hole=hole[request.insertion])
            if index >= WARMUP:
                through.append(ms)
                direct.append(fill.wall_ms)
        self.lsp_samples[name] = {"direct": direct, "through the server": through}
        lsp_stats, direct_stats = measure.summary(through), measure.summary(direct)
        return {"requests": len(through), "method": ("textDocument/inlineCompletion"
                                                     if name != ACTION else
                                                     "textDocument/codeAction + resolve"),
                "lsp": lsp_stats, "direct": direct_stats, "empty_answers": empty,
                "lsp_over_direct": _ratio(lsp_stats.get("p50"), direct_stats.get("p50"))}

    def _kind_setting(self, request: Request) -> samplers.Setting:
        """The setting the server uses for ``request``'s kind: ghost text (an insertion) asks
        for one candidate (``default-1``), a code action for three (``default``)."""
        key = "default-1" if request.insertion else samplers.DEFAULT
        return next(s for s in self.settings if s.key == key)

    async def _type_through(self, session: lsp.Session) -> dict[str, Any]:
        """The user types the first character of the ghost text: the server should answer
        with the rest of it from its last answer, without the model."""
        requests = self.requests[LINE][WARMUP:]
        self.log(f"through the server: typing into the suggestion ({len(requests)} requests)")
        before = await lsp.completion_counts(session)
        first, typed, continued = [], [], 0
        for index, request in enumerate(requests):
            uri = f"file:///bench/type-through/{index}.py"
            lsp.open_document(session, uri, request.text)
            ms, items = await lsp.inline(session, uri, request.text, request.start)
            if not items or len(items[0]) < 2:
                continue
            first.append(ms)
            text = request.text[:request.start] + items[0][0] + request.text[request.start:]
            lsp.open_document(session, uri, text)
            ms, rest = await lsp.inline(session, uri, text, request.start + 1)
            typed.append(ms)
            continued += bool(rest) and rest[0] == items[0][1:]
        after = await lsp.completion_counts(session)
        return {"requests": len(typed), "first": measure.summary(first),
                "typed": measure.summary(typed),
                "continued_the_suggestion": continued,
                "served_without_model": after["typedAhead"] - before["typedAhead"],
                "model_runs": after["modelRuns"] - before["modelRuns"]}

    def _score(self, report: dict[str, Any]) -> None:
        self.log("scoring (HumanEval programs run in the sandbox)")
        requests = [r for rs in self.requests.values() for r in rs]
        score(requests, self.fills, timeout=self.options.timeout, workers=self.options.workers)
        for name, workload in report["workloads"].items():
            for key, row in workload["samplers"].items():
                row.update(summarise([f for f in self.fills
                                      if f.workload == name and f.setting == key]))

    def _ratios(self, figures: dict[str, Any]) -> dict[str, Any]:
        """(a) / (d) per workload: forward passes, wall time (p50 and mean), quality gap."""
        out = {}
        for name, workload in figures.items():
            ref = workload["samplers"][samplers.REFERENCE]
            ship = workload["samplers"][samplers.DEFAULT]
            gap = (None if ref["quality"] is None or ship["quality"] is None
                   else round(ship["quality"] - ref["quality"], 4))
            out[name] = {
                "forward_passes": _ratio(ref["forward_passes"], ship["forward_passes"]),
                "wall_time_p50": _ratio(ref["p50_ms"], ship["p50_ms"]),
                "wall_time_mean": _ratio(ref["mean_ms"], ship["mean_ms"]),
                "quality_default_minus_reference": gap,
            }
        return out

    def latency_samples(self) -> dict[str, list[float]]:
        """Direct latencies of the shipped default per workload, and the server's, for plots."""
        out = {}
        for name in (LINE, BLOCK):
            chosen = [f.wall_ms for f in self.fills
                      if f.workload == name and f.setting == samplers.DEFAULT]
            if chosen:
                out[f"{name}: direct"] = chosen
            server = self.lsp_samples.get(name, {}).get("through the server")
            if server:
                out[f"{name}: through the server"] = server
        return out


def write_json(report: dict[str, Any], fills: list[Fill], path: Path) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**report, "fills": [f.to_json() for f in fills]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
