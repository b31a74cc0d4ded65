"""One evaluation run: benchmarks, a task file and the held-out loss, gathered in one report."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from code_diffusion import measure
from code_diffusion.evaluation import report as eval_report
from code_diffusion.evaluation import sandbox
from code_diffusion.evaluation import tasks as task_sets
from code_diffusion.evaluation.infill import (
    FIXED_CANVAS,
    LENGTH_CONTROL,
    ORACLE_LENGTH,
    DecodeSettings,
    TaskResult,
    baseline_results,
    run_mode,
    score,
    summarise,
)

METADATA_FILE = "code_diffusion.json"


def _decoding(sampler: Any) -> dict[str, Any]:
    """The decoding options of a run's fills, for the report."""
    if sampler is None:
        from code_diffusion.engine.options import SamplerOptions

        sampler = SamplerOptions()
    return {name: getattr(sampler, name)
            for name in ("repetition_penalty", "repetition_free", "distinct_rows")}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Evaluation:
    """Runs tasks through one generator and collects every figure of the report."""

    def __init__(self, generator: Any, model_info: Any, model_dir: str | Path | None = None, *,
                 seed: int = 0, steps: int | None = None, max_length: int | None = None,
                 fixed_canvas: bool = True, oracle: bool = False, sampler: Any = None,
                 timeout: float = sandbox.DEFAULT_TIMEOUT, workers: int = 2,
                 log: Callable[[str], None] = _stderr, progress: bool | None = None) -> None:
        from code_diffusion.training.export import EMBEDDED_DIR

        self.generator = generator
        self.model_info = model_info
        path = model_dir or getattr(model_info, "path", None) or EMBEDDED_DIR
        self.model_dir = Path(path)
        self.seed, self.steps, self.max_length = seed, steps, max_length
        self.fixed_canvas, self.oracle = fixed_canvas, oracle
        self.sampler = sampler
        """The ``SamplerOptions`` of every fill (``None``: the engine's defaults)."""
        self.timeout, self.workers = timeout, workers
        self.log = log
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.details: list[dict[str, Any]] = []
        self._tokenizer: Any = None
        self._baseline: Any = None

    # --- pieces -----------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer (for oracle lengths), or ``None`` if the directory has none."""
        if self._tokenizer is None:
            file = self.model_dir / "tokenizer.json"
            if file.is_file():
                from tokenizers import Tokenizer

                self._tokenizer = Tokenizer.from_file(str(file))
            else:
                self._tokenizer = False
        return self._tokenizer or None

    def modes(self, with_reference: bool = True) -> list[str]:
        modes = [LENGTH_CONTROL]
        if self.fixed_canvas:
            modes.append(FIXED_CANVAS)
        if self.oracle and with_reference:
            if self.tokenizer is None:
                self.log(f"oracle length skipped: no tokenizer.json in {self.model_dir}")
            else:
                modes.append(ORACLE_LENGTH)
        return modes

    def baseline_line(self) -> Any:
        if self._baseline is None:
            from code_diffusion.evaluation.heldout import most_frequent_statement, split_texts

            self.log("counting the lines of the training files for the baseline ...")
            self._baseline = most_frequent_statement(split_texts("train"))
        return self._baseline

    def _settings(self, max_length: int | None) -> DecodeSettings:
        return DecodeSettings(max_length=max_length, steps=self.steps, seed=self.seed,
                              sampler=self.sampler)

    def _run_modes(self, label: str, tasks: list[task_sets.InfillTask], modes: list[str],
                   max_length: int | None) -> dict[str, tuple[list[TaskResult], dict[str, Any]]]:
        out = {}
        for mode in modes:
            bar = None
            if self.progress:
                from tqdm import tqdm

                bar = tqdm(total=len(tasks), desc=f"{label} {mode}", leave=False,
                           file=sys.stderr)
            started = time.perf_counter()
            results = run_mode(self.generator, tasks, mode, self._settings(max_length),
                               self.tokenizer, self._ticker(label, mode, len(tasks), bar))
            generated = time.perf_counter() - started
            if bar is not None:
                bar.close()
            score(tasks, results, self.timeout, self.workers)
            scored = time.perf_counter() - started - generated
            summary = summarise(mode, results,
                                max_length if mode == FIXED_CANVAS else None).to_json()
            summary["seconds"] = {"generate": round(generated, 1), "score": round(scored, 1)}
            self.log(f"{label} {mode}: {len(tasks)} tasks, generate {generated:.0f} s, "
                     f"score {scored:.0f} s")
            for result in results:
                self.details.append({"source": label, **result.to_json()})
            out[mode] = (results, summary)
        return out

    def _ticker(self, label: str, mode: str, total: int, bar: Any
                ) -> Callable[[str, int], None]:
        """Progress: the bar on a terminal, else a log line about once a minute with an ETA."""
        started = time.perf_counter()
        last = [started]

        def tick(_mode: str, done: int) -> None:
            if bar is not None:
                bar.update()
                return
            now = time.perf_counter()
            if now - last[0] >= 60 and done < total:
                last[0] = now
                rate = (now - started) / done
                self.log(f"{label} {mode}: {done}/{total} tasks, {rate:.1f} s/task, "
                         f"about {rate * (total - done) / 60:.0f} min left")

        return tick

    # --- report sections ----------------------------------------------------------------------

    def start_report(self, command: str) -> dict[str, Any]:
        info = self.model_info
        model = info.to_json() if hasattr(info, "to_json") else {"name": str(info)}
        meta_file = self.model_dir / METADATA_FILE
        if meta_file.is_file():
            meta = json.loads(meta_file.read_text())
            model.setdefault("num_parameters", meta.get("num_parameters"))
            model["training"] = meta.get("training")
            model["weights_dtype"] = meta.get("dtype")
        return {
            "command": command,
            "date": measure.now_utc(),
            "machine": measure.describe(),
            "model": model,
            "settings": {"seed": self.seed, "steps": self.steps, "temperature": 0.0,
                         "num_samples": 1, "timeout": self.timeout,
                         "sandbox": sandbox.isolation_summary(), "max_length": {},
                         **_decoding(self.sampler)},
            "benchmarks": {},
        }

    def run_benchmark(self, name: str, limit: int | None, max_length: int,
                      baseline: bool = True) -> dict[str, Any]:
        every = task_sets.benchmark_tasks(name)
        tasks = task_sets.subsample(every, limit, self.seed)
        self.log(f"{name}: running {len(tasks)} of {len(every)} tasks")
        section: dict[str, Any] = {
            "tasks_total": len(every), "tasks_run": len(tasks), "limit": limit,
            "seed": self.seed, "max_length": max_length,
            "task_ids": [t.task_id for t in tasks] if limit else None,
            "modes": {mode: summary for mode, (_, summary)
                      in self._run_modes(name, tasks, self.modes(), max_length).items()},
        }
        if baseline:
            line = self.baseline_line()
            results = baseline_results(tasks, line.line)
            score(tasks, results, self.timeout, self.workers)
            summary = summarise("baseline", results).to_json()
            summary.update(line=line.line, corpus_count=line.count, corpus_share=line.share,
                           most_frequent_line=line.most_frequent)
            section["baseline"] = summary
            for result in results:
                self.details.append({"source": name, **result.to_json()})
        return section

    def run_task_file(self, path: str | Path, out: str | Path | None) -> dict[str, Any]:
        tasks = task_sets.read_task_file(path)
        with_reference = all(t.middle is not None for t in tasks)
        runs = self._run_modes(str(path), tasks, self.modes(with_reference), self.max_length)
        if out is not None:
            results, _ = runs[LENGTH_CONTROL]
            task_sets.write_completions(out, ((r.task_id, r.completion) for r in results))
            self.log(f"wrote {len(results)} completions to {out}")
        return {"path": str(path), "tasks_total": len(tasks), "tasks_run": len(tasks),
                "max_length": self.max_length, "out": str(out) if out else None,
                "modes": {mode: summary for mode, (_, summary) in runs.items()}}

    def heldout(self) -> dict[str, Any]:
        from code_diffusion.evaluation.heldout import heldout_report

        family = getattr(self.model_info, "family", "")
        if family not in ("embedded", "masked-lm"):
            return {"skipped": f"measured for masked LMs only (this model is {family!r})"}
        if not (self.model_dir / "tokenizer.json").is_file():
            return {"skipped": f"no tokenizer.json in {self.model_dir}"}
        self.log("masked-token loss on the held-out corpus files ...")
        try:
            return heldout_report(self.model_dir)
        except Exception as exc:  # a report section, not a reason to lose the whole run
            return {"skipped": f"could not measure: {type(exc).__name__}: {exc}"}

    def finish(self, report: dict[str, Any], json_path: str | Path | None = None,
               details_path: str | Path | None = None,
               docs_path: str | Path | None = None) -> int:
        settings = report["settings"]
        for name, section in report["benchmarks"].items():
            settings["max_length"][name] = section["max_length"]
        lengths = ", ".join(f"{v} ({k})" for k, v in settings["max_length"].items())
        settings["max_length_note"] = lengths or str(self.max_length or "engine default")
        baselines = [s["baseline"] for s in report["benchmarks"].values() if "baseline" in s]
        if baselines:
            b = baselines[0]
            settings["baseline_note"] = (
                f"the line `{b['line']}` at the hole's likely indentation (one level below a "
                f"line ending in `:`, else the next line's). It is the most frequent line of "
                f"the training files that is one whole simple statement where it stands "
                f"({b['corpus_count']:,} times, {100 * b['corpus_share']:.2f} % of non-blank "
                f"lines); the most frequent line overall, `{b['most_frequent_line']}`, is not "
                "valid alone.")
        print(eval_report.console_table(report))
        if json_path is not None:
            eval_report.write_json(report, json_path)
        if details_path is not None:
            Path(details_path).parent.mkdir(parents=True, exist_ok=True)
            with open(details_path, "w", encoding="utf-8") as handle:
                for row in self.details:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        if docs_path is not None:
            eval_report.update_docs(docs_path, eval_report.markdown_section(report))
            self.log(f"updated {docs_path}")
        return 0
