"""code-diffusion: a language server that writes code with a masked-diffusion code model."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
