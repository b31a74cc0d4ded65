"""The engine: request types, the model interface, the sampler, the adapters and the generator.

Nothing here imports pygls or lsprotocol; the language server is one client of the engine among
others (the CLI, the evaluation, the benchmark). Heavy modules (torch, transformers) load when
first used, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from code_diffusion.engine.errors import (
    CodeDiffusionError,
    DeviceError,
    GenerationCancelled,
    GenerationError,
    InvalidRequestError,
    ModelLoadError,
    UnsupportedParameterError,
)
from code_diffusion.engine.interface import CodeGenerationModel, ModelInfo, SampleStep
from code_diffusion.engine.types import Candidate, GenerationRequest, PartialCode

_LAZY = {"CodeDiffusion": "diffusion", "SamplerOptions": "diffusion",
         "CodeGenerator": "generator", "FillResult": "generator", "load_model": "loading"}
"""Names whose modules import torch: loaded on first use."""

__all__ = [
    *_LAZY, "Candidate", "CodeDiffusionError", "CodeGenerationModel", "DeviceError",
    "GenerationCancelled", "GenerationError", "GenerationRequest", "InvalidRequestError",
    "ModelInfo", "ModelLoadError", "PartialCode", "SampleStep", "UnsupportedParameterError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'code_diffusion.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"code_diffusion.engine.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
