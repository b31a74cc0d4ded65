"""What a wider or deeper embedded model would cost per forward pass, before training one.

``python -m code_diffusion.bench.sizes [--tokens 256 512] [--json FILE]`` builds each size of
:data:`SIZES` with random weights and the shipped tokenizer, saves it as an embedded model
directory (``config.json``, ``model.safetensors``, ``code_diffusion.json``) in a temporary
folder, loads it with :func:`~code_diffusion.engine.loading.load_model` (the engine's own
encoder, as the server runs it) and times the two passes a line fill is made of: a full pass of
3 rows over the window and a block pass over the hole's 24 columns against the kept keys and
values (median of 15, one thread). Random weights cost what trained ones cost; the sampler's
passes per fill are a property of the trained model and are not measured here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from code_diffusion.training.model import ModelSize

SIZES = {
    "4 × 256 (shipped)": ModelSize(256, 4, 4, 512),
    "6 × 256": ModelSize(256, 6, 4, 640),
    "6 × 384": ModelSize(384, 6, 6, 768),
    "8 × 384": ModelSize(384, 8, 6, 1024),
    "8 × 512": ModelSize(512, 8, 8, 1024),
}
ROWS, REPEATS = 3, 15


def _save(size: ModelSize, tokens: int, out: Path) -> None:
    """An embedded model directory of ``size`` with random weights."""
    import torch

    from code_diffusion.engine.loading import EMBEDDED_DIR
    from code_diffusion.training.model import build_model

    torch.manual_seed(0)
    build_model(4096, size, max_positions=tokens).save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(EMBEDDED_DIR / name, out / name)
    meta = json.loads((EMBEDDED_DIR / "code_diffusion.json").read_text("utf-8"))
    meta.update(max_context=tokens, dtype="float32")
    meta.pop("training", None)
    (out / "code_diffusion.json").write_text(json.dumps(meta), encoding="utf-8")


def measure(tokens: list[int]) -> dict[str, Any]:
    import torch

    from code_diffusion.bench.passes import configurations, median_ms
    from code_diffusion.engine.diffusion import torch_threads
    from code_diffusion.engine.loading import load_model

    figures: dict[str, Any] = {}
    for name, size in SIZES.items():
        for length in tokens:
            with tempfile.TemporaryDirectory() as tmp:
                _save(size, length, Path(tmp))
                model = load_model(tmp, device="cpu", precision="float32")
            params = sum(p.numel() for p in model.denoiser.model.parameters())
            with torch.inference_mode(), torch_threads(1):
                runs = dict(configurations(model, None, ROWS, length))
                full = runs["lean encoder path, masked positions only"]
                block = runs["block pass: the hole's columns against kept keys and values"]
                figures[f"{name}, {length} tokens"] = {
                    "parameters": params, "full_pass_ms": median_ms(full, REPEATS),
                    "block_pass_ms": median_ms(block, REPEATS)}
            print(name, length, figures[f"{name}, {length} tokens"], flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m code_diffusion.bench.sizes",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[256, 512],
                        help="window lengths to time (default 256 512)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure(args.tokens)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
