"""``code-diffusion info``: what model is loaded, its family, device, precision, defaults."""

from __future__ import annotations

import argparse
import json

from code_diffusion.commands._model_args import (
    add_model_arguments,
    load_from_args,
    quiet_transformers,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="show the model, its family, device, "
                                                "precision and the generation defaults")
    add_model_arguments(parser)
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    import time

    from code_diffusion import __version__
    from code_diffusion.engine.precision import describe
    from code_diffusion.engine.types import GenerationRequest

    quiet_transformers()
    began = time.perf_counter()
    model = load_from_args(args)
    info = model.info.to_json()
    info["load_seconds"] = round(time.perf_counter() - began, 2)
    info["version"] = __version__
    info["precision_choice"] = describe(args.precision, info["device"].split(":")[0])
    defaults = {k: v for k, v in GenerationRequest.defaults().items()
                if k not in ("specification", "language", "partial_code")}
    server = server_defaults()
    if args.json:
        print(json.dumps({"model": info, "defaults": defaults, "server_defaults": server},
                         indent=1))
        return 0
    params = info["num_parameters"]
    print(f"code-diffusion {__version__}")
    print(f"model:      {info['name']} ({info['family']} family)")
    print(f"path:       {info['path']}")
    print(f"parameters: {params:,}" if params else "parameters: unknown")
    print(f"device:     {info['device']}    precision: {info['precision_choice']}")
    print(f"context:    {info['max_context']} tokens    loaded in {info['load_seconds']} s")
    training = info.get("training") or {}
    if training:
        print(f"trained:    {training.get('steps')} steps, {training.get('tokens_seen'):,} "
              "tokens")
    print("defaults:   " + ", ".join(f"{k}={v}" for k, v in defaults.items()))
    print("server:     " + "; ".join(f"{kind} {params['num_samples']} candidate(s), "
                                     f"{params['steps']} steps" for kind, params in server.items()))
    return 0


def server_defaults() -> dict[str, dict]:
    """The generation parameters the language server's default settings give each request
    kind (ghost text, the completion menu, code actions)."""
    from code_diffusion.lsp.config import KINDS, Settings

    return {kind: Settings().generation_params(kind) for kind in KINDS}
