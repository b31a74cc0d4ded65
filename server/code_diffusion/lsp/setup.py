"""``create_server``: the one place a server is put together."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from code_diffusion.engine.loading import load_generator
from code_diffusion.lsp.server import CodeDiffusionServer
from code_diffusion.worker import Loader


def create_server(load: Loader | None = None, *, model_path: str | None = None,
                  features: Sequence[ModuleType] | None = None) -> CodeDiffusionServer:
    """A new server with every feature registered.

    Parameters
    ----------
    load
        ``load(options, report) -> model`` run on the worker thread, with the server's
        :class:`~code_diffusion.engine.loading.LoadOptions`; the default is the engine's
        ``load_generator`` (the model from ``modelPath``, or the embedded model, in a
        ``CodeGenerator``).
    model_path
        A model directory that overrides the editor's ``modelPath`` (``serve --model``).
    features
        The feature modules to register, in order; the default is every feature.
    """
    from code_diffusion.lsp.features import FEATURES

    server = CodeDiffusionServer(load or load_generator, model_path=model_path)
    for feature in FEATURES if features is None else features:
        feature.register(server)
    return server
