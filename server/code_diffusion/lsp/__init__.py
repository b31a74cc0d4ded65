"""The language server: pygls features over the model worker.

Build a server with :func:`create_server`; ``code-diffusion serve`` runs one over stdio.
``create_server`` loads on first use, so ``code_diffusion.lsp.config`` (the settings, read by
``code-diffusion info`` too) imports without pygls.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_server"]


def __getattr__(name: str) -> Any:
    if name == "create_server":
        from code_diffusion.lsp.setup import create_server

        return create_server
    raise AttributeError(f"module 'code_diffusion.lsp' has no attribute {name!r}")
