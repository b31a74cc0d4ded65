"""Command-line options shared by the commands that load a model."""

from __future__ import annotations

import argparse


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", metavar="DIR", default=None,
                       help="a local model directory (default: the embedded model)")
    group.add_argument("--device", default="auto",
                       help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    group.add_argument("--precision", default="auto",
                       help="auto, float32, bfloat16 or float16 (default: auto, bfloat16 on "
                            "a CPU with native bf16, else float32)")
    group.add_argument("--trust-remote-code", action="store_true",
                       help="allow a checkpoint's own Python code to run (off by default)")
    group.add_argument("--allow-unsafe-weights", action="store_true",
                       help="allow pickle weights (.bin/.pt); safetensors only by default")


def load_from_args(args: argparse.Namespace):
    from code_diffusion.engine.loading import load_model

    return load_model(args.model, device=args.device, precision=args.precision,
                      trust_remote_code=args.trust_remote_code,
                      allow_unsafe_weights=args.allow_unsafe_weights)


def quiet_transformers() -> None:
    """No progress bars or advice on stderr from transformers: our own messages only.

    Through its environment variables, read when transformers is first imported, so that the
    embedded model (which never imports it) does not pay for the import."""
    import os
    import sys

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    transformers = sys.modules.get("transformers")
    if transformers is not None:
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
