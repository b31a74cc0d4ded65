"""The server's features, one module each, each with ``register(server)``."""

from __future__ import annotations

from code_diffusion.lsp.features import (
    code_actions,
    commands,
    completion,
    configuration,
    documents,
    lifecycle,
    workspace,
)

# Order matters: lifecycle adds the status listeners the other features rely on.
FEATURES = (lifecycle, configuration, documents, workspace, completion, code_actions,
            commands)
