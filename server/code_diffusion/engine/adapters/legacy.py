"""Adapters for objects that generate code themselves but do not speak the interface.

* :class:`GenerateCodeAdapter`: objects with only the historical ``generate_code(...)``.
* :class:`RenamedAdapter`: objects whose ``generate`` / ``sample`` take other parameter names
  (``num_return_sequences``, ``max_new_tokens``, ``gen_length``, ``prompt``, ...).
* :class:`ConformingModel`: objects that already have the interface's shape; the wrapper only
  validates the request and checks that exactly ``num_samples`` candidates come back.

Each adapter reads the target's signature once (``inspect.signature``) and builds the call from
it. A request parameter set away from its default that the target has no parameter for raises
:class:`UnsupportedParameterError`, and so does a :class:`SamplerOptions` field these targets
cannot honour (only the advisory ones pass); nothing is retried with fewer parameters.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from code_diffusion.engine.errors import GenerationError, UnsupportedParameterError
from code_diffusion.engine.interface import ModelAdapter, ModelInfo, SampleStep
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import Candidate, GenerationRequest

# engine name -> the names other code generators use for it, in order of preference
ALIASES: Mapping[str, tuple[str, ...]] = {
    "specification": ("specification", "prompt", "spec", "instruction", "query", "text"),
    "language": ("language", "lang"),
    "partial_code": ("partial_code", "context", "code"),
    "max_length": ("max_length", "max_new_tokens", "gen_length", "max_tokens"),
    "num_samples": ("num_samples", "num_return_sequences", "n", "num_sequences"),
    "batch_size": ("batch_size",),
    "guidance_scale": ("guidance_scale", "cfg_scale", "guidance"),
    "temperature": ("temperature", "temp"),
    "steps": ("steps", "diffusion_steps", "num_steps"),
    "precision": ("precision", "dtype"),
    "device": ("device",),
    "use_rewards": ("use_rewards",),
    "num_iterations": ("num_iterations",),
    "seed": ("seed",),
}
DEFAULTS = GenerationRequest.defaults()


def _parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(function).parameters)


def _candidates(result: Any, request: GenerationRequest, model: str) -> list[Candidate]:
    """Normalise what a legacy generator returns and insist on exactly ``num_samples``."""
    if isinstance(result, str | Candidate | Mapping):
        result = [result]
    out = []
    for item in result:
        if isinstance(item, Candidate):
            out.append(item)
        elif isinstance(item, Mapping):
            text = item.get("text", item.get("code", item.get("completion")))
            if not isinstance(text, str):
                raise GenerationError(f"{model} returned an item without text",
                                      [f"keys were {sorted(item)}"])
            out.append(Candidate(text=text))
        elif isinstance(item, str):
            out.append(Candidate(text=item))
        else:
            raise GenerationError(f"{model} returned an unusable result",
                                  [f"expected strings or mappings, got {type(item).__name__}"])
    if len(out) != request.num_samples:
        raise GenerationError(f"{model} returned {len(out)} candidates",
                              [f"num_samples={request.num_samples} was asked for"])
    return out


class _Adapter(ModelAdapter):
    """Shared plumbing: refuse the options the target cannot honour, stream one final step."""

    target: Any

    def generate(self, specification: str, language: str | None = None, partial_code=None, *,
                 sampler: SamplerOptions | None = None, **params: Any) -> list[Candidate]:
        request = GenerationRequest(specification=specification, language=language,
                                    partial_code=partial_code, **params)
        (sampler or SamplerOptions()).refuse_unsupported(self.info.name)
        return self._generate(request)

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        """These targets produce whole results only: one step, the final one."""
        options.refuse_unsupported(self.info.name)
        return self._one_step(request)

    def _one_step(self, request: GenerationRequest) -> Iterator[SampleStep]:
        candidates = tuple(self._generate(request))
        yield SampleStep(step=1, texts=tuple(c.text for c in candidates),
                         masked=(0,) * len(candidates), forward_passes=0,
                         candidates=candidates)

    def _generate(self, request: GenerationRequest) -> list[Candidate]:
        raise NotImplementedError  # pragma: no cover - interface


class _SignatureCall:
    """Maps a request onto one target function's own parameter names."""

    def __init__(self, model: str, function: Callable[..., Any]) -> None:
        self.model, self.function = model, function
        self.parameters = _parameters(function)
        self.kwargs = any(p.kind is p.VAR_KEYWORD for p in self.parameters.values())
        self.names = {engine: next((a for a in aliases if a in self.parameters), None)
                      for engine, aliases in ALIASES.items()}
        self.split_code = "prefix" in self.parameters and "suffix" in self.parameters

    def supported(self) -> tuple[str, ...]:
        return tuple(n for n, target in self.names.items() if target is not None)

    def arguments(self, request: GenerationRequest) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for name in GenerationRequest.field_names():
            value = getattr(request, name)
            target = self.names.get(name)
            if name == "partial_code" and self.split_code:
                code = request.partial_code
                arguments["prefix"] = code.prefix if code else ""
                arguments["suffix"] = code.suffix if code else ""
            elif name == "partial_code" and target is not None:
                arguments[target] = self._prefix_only(request)
            elif target is not None:
                arguments[target] = value
            elif value != DEFAULTS[name] and not (name == "partial_code" and value is None):
                raise UnsupportedParameterError(self.model, name, self.supported())
        return arguments


    def _prefix_only(self, request: GenerationRequest) -> str | None:
        """Targets without a suffix parameter get the code before the hole as one string;
        a suffix they cannot see is refused rather than dropped."""
        code = request.partial_code
        if code is None:
            return None
        if code.suffix:
            raise UnsupportedParameterError(
                self.model, "partial_code (code after the hole)",
                [*self.supported(), "partial_code (code before the hole only)"])
        return code.prefix


class GenerateCodeAdapter(_Adapter):
    """An object with only ``generate_code(specification, language, partial_code, ...)``."""

    def __init__(self, target: Any) -> None:
        self.target = target
        name = type(target).__name__
        self.call = _SignatureCall(name, target.generate_code)
        self.info = ModelInfo(name=name, family="legacy", supported=self.call.supported())

    def _generate(self, request: GenerationRequest) -> list[Candidate]:
        arguments = self.call.arguments(request)
        return _candidates(self.target.generate_code(**arguments), request, self.info.name)


class RenamedAdapter(_Adapter):
    """An object whose ``generate`` (or ``sample``) uses other parameter names."""

    def __init__(self, target: Any) -> None:
        self.target = target
        name = type(target).__name__
        method = target.generate if callable(getattr(target, "generate", None)) else target.sample
        self.call = _SignatureCall(name, method)
        if self.call.names["specification"] is None:
            raise UnsupportedParameterError(name, "specification", self.call.supported())
        self.info = ModelInfo(name=name, family="renamed", supported=self.call.supported())

    def _generate(self, request: GenerationRequest) -> list[Candidate]:
        result = self.call.function(**self.call.arguments(request))
        return _candidates(result, request, self.info.name)


class ConformingModel(_Adapter):
    """An object that already has ``generate`` / ``sample`` with the interface's shape."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.info = getattr(target, "info", None) or ModelInfo(
            name=type(target).__name__, family="conforming",
            supported=GenerationRequest.field_names())

    def _generate(self, request: GenerationRequest) -> list[Candidate]:
        result = self.target.generate(request.specification, request.language,
                                      request.partial_code, **_params(request))
        return _candidates(result, request, self.info.name)

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        """The target's own steps; its ``sampler`` parameter gets the options when it has one,
        else the options must be the advisory ones only."""
        extra: dict[str, Any] = {}
        if "sampler" in _parameters(self.target.sample):
            extra["sampler"] = options
        else:
            options.refuse_unsupported(self.info.name)
        return self.target.sample(request.specification, request.language,
                                  request.partial_code, **_params(request), **extra)


def _params(request: GenerationRequest) -> dict[str, Any]:
    """The request's fields other than the three positional ones (for targets that take the
    interface's keyword call shape)."""
    return {n: getattr(request, n) for n in GenerationRequest.field_names()
            if n not in ("specification", "language", "partial_code")}


def conforms(target: Any) -> bool:
    """True when ``generate`` and ``sample`` both accept the interface's call shape."""
    for method_name in ("generate", "sample"):
        method = getattr(target, method_name, None)
        if not callable(method):
            return False
        parameters = _parameters(method)
        names = list(parameters)
        if names[:3] != ["specification", "language", "partial_code"]:
            return False
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return False
    return True
