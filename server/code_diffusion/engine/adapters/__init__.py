"""The adapter layer: any supported object becomes a ``CodeGenerationModel``.

:func:`as_code_generation_model` inspects the object (its class, its methods' signatures, its
config) and picks one adapter. It never calls a method to see whether it works. For tensor
models the engine's own sampler (:class:`~code_diffusion.engine.diffusion.CodeDiffusion`) is the
fast path and the adapter only supplies aligned logits and special ids.

| what the object is | adapter |
|---|---|
| already a ``CodeGenerationModel`` (the interface's shape) | ``ConformingModel`` |
| an ``nn.Module`` with Dream's ``diffusion_generate`` | ``DreamDenoiser`` (shifted logits) |
| an ``nn.Module`` whose config or class says LLaDA | ``LLaDADenoiser`` |
| any ``*ForMaskedLM`` | ``MaskedLMDenoiser`` |
| an object with only ``generate_code(...)`` | ``GenerateCodeAdapter`` |
| an object whose ``generate``/``sample`` use other names | ``RenamedAdapter`` |
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from code_diffusion.engine.adapters.base import Denoiser, SpecialIds
from code_diffusion.engine.adapters.families import (
    DreamDenoiser,
    LLaDADenoiser,
    dream_denoiser,
    has_dream_signature,
    llada_denoiser,
)
from code_diffusion.engine.adapters.legacy import (
    ConformingModel,
    GenerateCodeAdapter,
    RenamedAdapter,
    conforms,
)
from code_diffusion.engine.adapters.masked_lm import MaskedLMDenoiser, masked_lm_denoiser
from code_diffusion.engine.errors import UnsupportedParameterError
from code_diffusion.engine.interface import CodeGenerationModel, ModelInfo

SAMPLER_PARAMETERS = ("specification", "language", "partial_code", "max_length",
                      "num_samples", "batch_size", "guidance_scale", "temperature", "steps",
                      "precision", "device", "use_rewards", "num_iterations", "seed")


def as_code_generation_model(obj: Any, *, tokenizer: Any = None,
                             native_generate: Callable[..., Any] | None = None,
                             ) -> CodeGenerationModel:
    """Wrap ``obj`` in the adapter its shape calls for (see the module's table)."""
    from code_diffusion.engine.diffusion import CodeDiffusion

    if isinstance(obj, CodeDiffusion | ConformingModel | GenerateCodeAdapter | RenamedAdapter):
        return obj
    if isinstance(obj, Denoiser):
        return sampler_model(obj)
    if _is_module(obj):
        if tokenizer is None:
            raise UnsupportedParameterError(
                type(obj).__name__, "tokenizer",
                ["as_code_generation_model(model, tokenizer=...) with the model's tokenizer"])
        return sampler_model(_denoiser_for(obj, tokenizer, native_generate))
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
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return False
    return isinstance(obj, torch.nn.Module)


def _denoiser_for(model: Any, tokenizer: Any, native_generate) -> Denoiser:
    config = getattr(model, "config", None)
    described = f"{type(model).__name__} {getattr(config, 'model_type', '')}".lower()
    if has_dream_signature(model):
        return dream_denoiser(model, tokenizer)
    if "llada" in described:
        return llada_denoiser(model, tokenizer, native_generate=native_generate)
    if type(model).__name__.endswith("ForMaskedLM"):
        return masked_lm_denoiser(model, tokenizer)
    raise UnsupportedParameterError(
        type(model).__name__, "model",
        ["*ForMaskedLM models", "models with Dream's diffusion_generate",
         "LLaDA models (config.model_type 'llada')"])


def sampler_model(denoiser: Denoiser, info: ModelInfo | None = None) -> CodeGenerationModel:
    """The engine's sampler over ``denoiser``."""
    from code_diffusion.engine.diffusion import CodeDiffusion

    if info is None:
        info = ModelInfo(name=denoiser.name, family=denoiser.family,
                         device=str(denoiser.device),
                         precision=str(denoiser.dtype).removeprefix("torch."),
                         num_parameters=sum(p.numel() for p in denoiser.model.parameters()),
                         max_context=denoiser.max_context, supported=SAMPLER_PARAMETERS)
    return CodeDiffusion(denoiser, info)


def wrap_loaded(model: Any, tokenizer: Any, *, family: str, path: Path,
                metadata: dict[str, Any]) -> CodeGenerationModel:
    """The adapter for a model :func:`~code_diffusion.engine.loading.load_model` just loaded."""
    if family == "embedded":
        denoiser = masked_lm_denoiser(model, tokenizer, family="embedded",
                                      name=metadata.get("name", path.name), trailing_pad=True,
                                      max_context=int(metadata.get("max_context", 256)))
    elif family == "masked-lm":
        denoiser = masked_lm_denoiser(model, tokenizer, name=path.name)
    elif family == "llada":
        denoiser = llada_denoiser(model, tokenizer, name=path.name)
    else:
        denoiser = dream_denoiser(model, tokenizer, name=path.name)
    info = ModelInfo(name=denoiser.name, family=family, device=str(denoiser.device),
                     precision=str(denoiser.dtype).removeprefix("torch."),
                     num_parameters=sum(p.numel() for p in model.parameters()),
                     path=str(path), max_context=denoiser.max_context,
                     supported=SAMPLER_PARAMETERS,
                     extra={"training": metadata.get("training")} if metadata else {})
    return sampler_model(denoiser, info)


__all__ = [
    "ConformingModel", "Denoiser", "DreamDenoiser", "GenerateCodeAdapter", "LLaDADenoiser",
    "MaskedLMDenoiser", "RenamedAdapter", "SpecialIds", "as_code_generation_model",
    "sampler_model", "wrap_loaded",
]
