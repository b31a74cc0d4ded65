"""The sampler settings compared side by side, and a model view that applies one.

* (a) ``reference``: the LLaDA paper's low-confidence remasking on a fixed canvas of
  ``max_length`` slots that must all hold real tokens, one token committed per step;
* (b) ``quota``: the linear schedule (``ceil(masked / steps_left)`` per step) on the canvas sized
  from the hole, with a small step budget;
* (c) ``threshold``: commit every slot whose confidence reaches τ (at least one per step, and
  never fewer than the quota that finishes within the shipped step budget), on the canvas sized
  from the hole, at a few τ;
* (d) ``default``: what the language server ships for the completion menu: its default settings
  (three candidates from one batched pass, ranked) and the engine's default sampler options;
* variants of (d) that change one thing: one candidate (``default-1``, what ghost text ships),
  the block cache toggled (``default+cache`` or ``default-cache``) and the weights in bfloat16
  (``default-bf16``).

Every setting is greedy (temperature 0), so a fill is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from code_diffusion.engine.diffusion import CodeDiffusion
from code_diffusion.engine.interface import SampleStep
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import GenerationRequest

REFERENCE = "reference"
DEFAULT = "default"
LINE_MAX_LENGTH = 32
"""The fixed canvas of the reference for one line (the evaluation's single-line bound)."""
BLOCK_MAX_LENGTH = 64
QUOTA_STEPS = (8,)
THRESHOLDS = (0.5, 0.7, 0.9)
SIDE_BY_SIDE = ("line", "humaneval-line", "humaneval-block")
"""Workloads that every setting runs on; the held-out block and the 20-line selection run
(a), (d) and (d) with the cache toggled."""


@dataclass(frozen=True)
class Setting:
    """One sampler setting: request parameters, ``fill`` options and sampler options."""

    key: str
    group: str
    """``a``, ``b``, ``c`` or ``d`` as in the issue's list."""
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    fill: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    """:class:`SamplerOptions` fields this setting overrides."""
    precision: str | None = None
    """Load the weights in this precision for this setting (``None``: as loaded)."""
    everywhere: bool = False
    """Run on every workload; the others run on :data:`SIDE_BY_SIDE` only."""

    def runs_on(self, workload: str) -> bool:
        return self.everywhere or workload in SIDE_BY_SIDE

    def params_for(self, hole: str) -> dict[str, Any]:
        """The request parameters for a hole of kind ``hole``; the reference's canvas (and
        step count) is the longest completion the workload allows."""
        params = dict(self.params)
        if self.key == REFERENCE:
            length = LINE_MAX_LENGTH if hole == "line" else BLOCK_MAX_LENGTH
            params.update(max_length=length, steps=length)
        return params


def shipped_params() -> dict[str, Any]:
    """The generation parameters of the language server's default settings for the completion
    menu (three candidates); ghost text's (one candidate) is ``default-1``."""
    try:
        from code_diffusion.lsp.config import Settings

        params = Settings().generation_params("menu")
    except ImportError:  # the server package is optional for the engine figures
        params = {"temperature": 0.0, "steps": 8, "max_length": 48, "num_samples": 3,
                  "use_rewards": True}
    return dict(params)


def settings(thresholds: tuple[float, ...] = THRESHOLDS,
             quota_steps: tuple[int, ...] = QUOTA_STEPS) -> list[Setting]:
    """(a), (b), (c) and (d), in that order."""
    one = {"temperature": 0.0, "num_samples": 1, "seed": 0}
    shipped = {**shipped_params(), "seed": 0}
    budget = {**one, "steps": shipped["steps"], "max_length": shipped["max_length"]}
    out = [Setting(REFERENCE, "a", "(a) reference: fixed canvas, 1 token/step",
                   params=one, fill={"length_control": False}, options={"policy": "quota"},
                   everywhere=True)]
    out += [Setting(f"quota-{s}", "b", f"(b) quota, {s} steps", params={**one, "steps": s},
                    options={"policy": "quota"}) for s in quota_steps]
    out += [Setting(f"threshold-{t:g}", "c", f"(c) threshold τ={t:g}", params=budget,
                    options={"policy": "threshold", "threshold": t}) for t in thresholds]
    default = SamplerOptions()
    cache = "block cache" if default.cache == "block" else "no cache"
    out.append(Setting(DEFAULT, "d",
                       f"(d) shipped default: {default.policy} τ={default.threshold:g}, {cache}, "
                       f"{shipped['num_samples']} candidates", params=shipped, everywhere=True))
    if default.cache == "block":
        out.append(Setting("default-cache", "d", "(d) without the block cache", params=shipped,
                           options={"cache": "none"}, everywhere=True))
    else:
        out.append(Setting("default+cache", "d", "(d) with the block cache", params=shipped,
                           options={"cache": "block"}, everywhere=True))
    out.append(Setting("default-bf16", "d", "(d) with bfloat16 weights", params=shipped,
                       precision="bfloat16"))
    out.append(Setting("default-1", "d", "(d) with 1 candidate", params={**shipped,
                                                                          "num_samples": 1}))
    return out


class SettingModel(CodeDiffusion):
    """The same sampler and weights with some :class:`SamplerOptions` fields fixed, keeping the
    final step (the candidates before post-processing and the forward passes) of the last
    call."""

    def __init__(self, base: CodeDiffusion, options: dict[str, Any] | None = None) -> None:
        super().__init__(base.denoiser, base.info)
        self.options = dict(options or {})
        self.last: SampleStep | None = None

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        self.last = None
        return self._recording(super().stream(request, replace(options, **self.options)))

    def _recording(self, steps: Iterator[SampleStep]) -> Iterator[SampleStep]:
        try:
            for step in steps:
                if step.done:
                    self.last = step
                yield step
        finally:
            close = getattr(steps, "close", None)
            if close is not None:
                close()
