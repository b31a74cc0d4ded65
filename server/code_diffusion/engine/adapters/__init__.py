"""Model families and adapters: what the engine's sampler needs from each kind of model.

* :mod:`~code_diffusion.engine.adapters.base`: :class:`Denoiser` (aligned logits, special ids).
* :mod:`~code_diffusion.engine.adapters.registry`: every supported family in one table
  (detection, loading class, remote code, denoiser builder).
* :mod:`~code_diffusion.engine.adapters.masked_lm`, :mod:`~code_diffusion.engine.adapters.families`:
  the denoisers of the families.
* :mod:`~code_diffusion.engine.adapters.legacy`: objects that generate by themselves.

Wrapping an object into a model is :func:`code_diffusion.engine.adapt.as_code_generation_model`
(it needs the sampler, which imports this package, so it lives one level up).
"""

from __future__ import annotations

from code_diffusion.engine.adapters.base import Denoiser, SpecialIds
from code_diffusion.engine.adapters.families import DreamDenoiser, LLaDADenoiser
from code_diffusion.engine.adapters.legacy import (
    ConformingModel,
    GenerateCodeAdapter,
    RenamedAdapter,
)
from code_diffusion.engine.adapters.masked_lm import MaskedLMDenoiser
from code_diffusion.engine.adapters.registry import (
    FAMILIES,
    Family,
    detect_family,
    family_named,
    family_of_module,
)

__all__ = [
    "FAMILIES", "ConformingModel", "Denoiser", "DreamDenoiser", "Family", "GenerateCodeAdapter",
    "LLaDADenoiser", "MaskedLMDenoiser", "RenamedAdapter", "SpecialIds", "detect_family",
    "family_named", "family_of_module",
]
