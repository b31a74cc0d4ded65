"""code-diffusion: a language server that writes code with a masked-diffusion code model.

The engine's main names are importable from here::

    from code_diffusion import CodeDiffusion, CodeGenerator, GenerationRequest, load_model

They load on first use (module ``__getattr__``): importing ``code_diffusion`` alone imports
neither torch nor transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "CodeDiffusion": "code_diffusion.engine.diffusion",
    "SamplerOptions": "code_diffusion.engine.diffusion",
    "CodeGenerator": "code_diffusion.engine.generator",
    "FillResult": "code_diffusion.engine.generator",
    "load_model": "code_diffusion.engine.loading",
    "GenerationRequest": "code_diffusion.engine.types",
    "Candidate": "code_diffusion.engine.types",
    "PartialCode": "code_diffusion.engine.types",
}
__all__ = ["Candidate", "CodeDiffusion", "CodeGenerator", "FillResult", "GenerationRequest",
           "PartialCode", "SamplerOptions", "__version__", "load_model"]

if TYPE_CHECKING:
    from code_diffusion.engine.diffusion import CodeDiffusion, SamplerOptions
    from code_diffusion.engine.generator import CodeGenerator, FillResult
    from code_diffusion.engine.loading import load_model
    from code_diffusion.engine.types import Candidate, GenerationRequest, PartialCode


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'code_diffusion' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
