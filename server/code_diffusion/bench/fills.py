"""Fill requests with a sampler setting, time them, count forward passes, score the results.

Latency is wall-clock time around ``CodeGenerator.fill`` (tokenising, the denoising loop and the
post-processing, as an editor waits for them). Forward passes and committed tokens come from the
sampler's final step: *committed tokens* are the real tokens (not ``[PAD]``) of the returned
candidate before the hole's post-processing cut, so ``tokens_per_forward`` is how many tokens one
pass of the model decided on average. When every candidate fails the checks the completion is
empty (what an editor shows), and its passes still count.
"""

from __future__ import annotations

import difflib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from code_diffusion.bench.samplers import Setting, SettingModel
from code_diffusion.bench.workloads import QUALITY_METRIC, Request
from code_diffusion.engine.errors import GenerationError
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.measure import summary as stats


@dataclass
class Fill:
    """One request filled with one setting."""

    task_id: str
    workload: str
    setting: str
    completion: str
    wall_ms: float
    forward_passes: int
    tokens: int
    error: str = ""
    quality: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SettingRunner:
    """Fills requests with sampler settings: a generator per setting over one loaded model
    (the weights are shared; a setting with another precision gets its own copy, loaded
    once)."""

    def __init__(self, model: Any, path: str | None = None) -> None:
        self.model = model
        self.path = path
        self._views: dict[str, tuple[CodeGenerator, SettingModel]] = {}
        self._copies: dict[str, Any] = {}

    def weights(self, precision: str | None) -> Any:
        if precision is None or precision == self.model.info.precision:
            return self.model
        if precision not in self._copies:
            from code_diffusion.engine.loading import load_model

            self._copies[precision] = load_model(self.path, device="cpu", precision=precision)
        return self._copies[precision]

    def view(self, setting: Setting) -> tuple[CodeGenerator, SettingModel]:
        if setting.key not in self._views:
            view = SettingModel(self.weights(setting.precision), setting.options)
            self._views[setting.key] = (CodeGenerator(view), view)
        return self._views[setting.key]

    def fill(self, request: Request, setting: Setting, *, hole: str | None = None,
             **extra: Any) -> Fill:
        """Fill ``request`` with ``setting`` (``hole`` overrides the workload's hole kind)."""
        generator, view = self.view(setting)
        kind = hole or request.hole
        params = {**setting.params_for(kind), **setting.fill, **extra}
        end = None if request.insertion else request.end
        started = time.perf_counter()
        error = ""
        try:
            result = generator.fill(request.text, request.start, end, language=request.language,
                                    hole=kind, **params)
            completion = result.candidates[0].text if result.candidates else ""
        except GenerationError as exc:
            completion, error = "", str(exc)
        wall = (time.perf_counter() - started) * 1000
        last = view.last
        passes = int(last.forward_passes) if last is not None else 0
        tokens = 0
        if last is not None and last.candidates:
            best = _best(last.candidates, completion)
            tokens = len(best.confidence)
        return Fill(request.task_id, request.workload, setting.key, completion, wall, passes,
                    tokens, error)


def _best(candidates: Sequence[Any], completion: str) -> Any:
    """The raw candidate the returned completion came from (the first whose text starts the
    same way), else the first."""
    for candidate in candidates:
        if completion and candidate.text.startswith(completion[:8]):
            return candidate
    return candidates[0]


def edit_similarity(completion: str, reference: str) -> float:
    """difflib's similarity ratio of the two texts, trailing whitespace of each line ignored."""
    def norm(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))
    return difflib.SequenceMatcher(None, norm(completion), norm(reference),
                                   autojunk=False).ratio()


def score(requests: Sequence[Request], fills: Sequence[Fill], *, timeout: float = 10.0,
          workers: int = 2) -> None:
    """Set each fill's ``quality``: 1/0 for exact match and pass@1, a ratio for similarity.
    HumanEval programs run in the evaluation's sandbox."""
    from code_diffusion.evaluation import infill
    from code_diffusion.evaluation.tasks import exact_first_line, exact_match

    by_id = {r.task_id: r for r in requests}
    runnable: list[tuple[Request, Fill, Any]] = []
    for fill in fills:
        request = by_id[fill.task_id]
        metric = QUALITY_METRIC[request.workload]
        if metric == "pass@1" and request.task is not None:
            result = infill.TaskResult(fill.task_id, fill.setting, fill.completion,
                                         fill.forward_passes, fill.wall_ms, fill.wall_ms)
            runnable.append((request, fill, result))
        elif metric == "edit similarity":
            fill.quality = edit_similarity(fill.completion, request.middle)
        elif request.hole == "line":
            fill.quality = float(exact_first_line(fill.completion, request.middle))
        else:
            fill.quality = float(exact_match(fill.completion, request.middle))
    if runnable:
        infill.score([r.task for r, _, _ in runnable], [res for _, _, res in runnable],
                       timeout=timeout, workers=workers)
        for _, fill, result in runnable:
            fill.quality = float(result.passed)


def summarise(fills: Sequence[Fill]) -> dict[str, Any]:
    """The figures of one workload and setting."""
    wall = stats([f.wall_ms for f in fills])
    passes = [f.forward_passes for f in fills]
    tokens = sum(f.tokens for f in fills)
    scored = [f.quality for f in fills if f.quality is not None]
    return {
        "requests": len(fills),
        "min_ms": wall.get("min"), "p50_ms": wall.get("p50"), "p95_ms": wall.get("p95"),
        "mean_ms": wall.get("mean"),
        "forward_passes": round(statistics.fmean(passes), 2) if passes else None,
        "forward_passes_stats": stats(passes),
        "tokens": tokens,
        "tokens_per_forward": round(tokens / sum(passes), 3) if sum(passes) else None,
        "forward_passes_per_token": round(sum(passes) / tokens, 3) if tokens else None,
        "quality": round(statistics.fmean(scored), 4) if scored else None,
        "empty": sum(1 for f in fills if not f.completion.strip()),
    }


def run_side_by_side(runner: SettingRunner, requests: Sequence[Request],
                     settings: Sequence[Setting],
                     progress: Callable[[str], None] | None = None) -> list[Fill]:
    """Every request with every setting, round-robin (so slow drift of the machine's load
    touches every setting alike)."""
    fills = []
    for index, request in enumerate(requests):
        for setting in settings:
            fills.append(runner.fill(request, setting))
        if progress is not None:
            progress(f"{requests[0].workload}: {index + 1}/{len(requests)}")
    return fills
