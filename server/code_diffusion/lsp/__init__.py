"""The language server: pygls features over the model worker.

Build a server with :func:`create_server`; ``code-diffusion serve`` runs one over stdio.
"""

from __future__ import annotations

from code_diffusion.lsp.setup import create_server

__all__ = ["create_server"]
