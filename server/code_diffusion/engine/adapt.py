"""Turn any supported object into a ``CodeGenerationModel`` (the adapter layer's entry point).

:func:`as_code_generation_model` inspects the object (its class, its methods' signatures, its
config) and picks one adapter. It never calls a method to see whether it works. For tensor
models the engine's own sampler (:class:`~code_diffusion.engine.diffusion.CodeDiffusion`) is the
fast path; the family registry (:mod:`code_diffusion.engine.adapters.registry`) supplies the
denoiser with the family's aligned logits and special ids.

| what the object is | adapter |
|---|---|
| already a ``CodeGenerationModel`` (the interface's shape) | ``ConformingModel`` |
| an ``nn.Module`` the family registry claims | ``CodeDiffusion`` over the family's denoiser |
| an object with only ``generate_code(...)`` | ``GenerateCodeAdapter`` |
| an object whose ``generate``/``sample`` use other names | ``RenamedAdapter`` |
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from code_diffusion.engine.adapters.base import Denoiser
from code_diffusion.engine.adapters.legacy import (
    ConformingModel,
    GenerateCodeAdapter,
    RenamedAdapter,
    conforms,
)
from code_diffusion.engine.adapters.registry import (
    EMBEDDED_METADATA,
    Build,
    Family,
    family_of_module,
)
from code_diffusion.engine.chance import Calibration
from code_diffusion.engine.diffusion import CodeDiffusion
from code_diffusion.engine.errors import ModelLoadError, UnsupportedParameterError
from code_diffusion.engine.interface import CodeGenerationModel, ModelAdapter, ModelInfo

SAMPLER_PARAMETERS = ("specification", "language", "partial_code", "max_length",
                      "num_samples", "batch_size", "guidance_scale", "temperature", "steps",
                      "precision", "device", "use_rewards", "num_iterations", "seed")


def as_code_generation_model(obj: Any, *, tokenizer: Any = None,
                             native_generate: Callable[..., Any] | None = None,
                             ) -> ModelAdapter:
    """Wrap ``obj`` in the adapter its shape calls for (see the module's table)."""
    if isinstance(obj, ModelAdapter):
        return obj
    if isinstance(obj, Denoiser):
        return sampler_model(obj)
    if _is_module(obj):
        if tokenizer is None:
            raise UnsupportedParameterError(
                type(obj).__name__, "tokenizer",
                ["as_code_generation_model(model, tokenizer=...) with the model's tokenizer"])
        family = family_of_module(obj)
        return sampler_model(family.build(obj, tokenizer, Build(native_generate=native_generate)))
    if conforms(obj):
        return ConformingModel(obj)
    if callable(getattr(obj, "generate_code", None)):
        return GenerateCodeAdapter(obj)
    if callable(getattr(obj, "generate", None)) or callable(getattr(obj, "sample", None)):
        return RenamedAdapter(obj)
    raise TypeError(
        f"{type(obj).__name__} cannot be used as a code generation model: it has no "
        "generate/sample/generate_code method and is not a torch model; see docs/engine.md "
        "for the shapes the adapter layer accepts")


def _is_module(obj: Any) -> bool:
    import torch

    return isinstance(obj, torch.nn.Module)


def sampler_model(denoiser: Denoiser, info: ModelInfo | None = None) -> CodeDiffusion:
    """The engine's sampler over ``denoiser``."""
    if info is None:
        info = ModelInfo(name=denoiser.name, family=denoiser.family,
                         device=str(denoiser.device),
                         precision=str(denoiser.dtype).removeprefix("torch."),
                         num_parameters=sum(p.numel() for p in denoiser.model.parameters()),
                         max_context=denoiser.max_context, supported=SAMPLER_PARAMETERS)
    return CodeDiffusion(denoiser, info)


def wrap_loaded(model: Any, tokenizer: Any, *, family: Family, path: Path,
                metadata: dict[str, Any]) -> CodeGenerationModel:
    """The adapter for a model :func:`~code_diffusion.engine.loading.load_model` just loaded."""
    denoiser = family.build(model, tokenizer, Build(name=path.name, metadata=metadata))
    info = ModelInfo(name=denoiser.name, family=family.name, device=str(denoiser.device),
                     precision=str(denoiser.dtype).removeprefix("torch."),
                     num_parameters=sum(p.numel() for p in model.parameters()),
                     path=str(path), max_context=denoiser.max_context,
                     supported=SAMPLER_PARAMETERS,
                     extra=_metadata_extra(metadata, path))
    return sampler_model(denoiser, info)


def _metadata_extra(metadata: dict[str, Any], path: Path) -> dict[str, Any]:
    """What ``ModelInfo.extra`` keeps of an embedded checkpoint's metadata: its training and
    the calibration of its confidence (``engine/chance.py``), checked here so a bad one is
    refused at load time."""
    if not metadata:
        return {}
    extra = {"training": metadata.get("training")}
    if metadata.get("calibration") is not None:
        try:
            Calibration.from_json(metadata["calibration"], str(path / EMBEDDED_METADATA))
        except ValueError as exc:
            raise ModelLoadError(f"{exc}; fix or remove the entry") from exc
        extra["calibration"] = metadata["calibration"]
    return extra
