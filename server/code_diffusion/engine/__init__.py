"""The engine: request types, the model interface, the sampler, the adapters and the generator.

Nothing here imports pygls or lsprotocol; the language server is one client of the engine among
others (the CLI, the evaluation, the benchmark). Heavy modules (torch, transformers) load when
first used, so importing this package is cheap.
"""

from __future__ import annotations

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

__all__ = [
    "Candidate", "CodeDiffusionError", "CodeGenerationModel", "DeviceError",
    "GenerationCancelled", "GenerationError", "GenerationRequest", "InvalidRequestError",
    "ModelInfo", "ModelLoadError", "PartialCode", "SampleStep", "UnsupportedParameterError",
]
