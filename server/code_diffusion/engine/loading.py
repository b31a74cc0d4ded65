"""Load a model directory (or the embedded model) into a ``CodeGenerationModel``.

Nothing is downloaded: the path must be a local directory. Weights load from safetensors only,
unless the user opts in to pickle files; a checkpoint's own Python code runs only when the
user turns ``trust_remote_code`` on. Every refusal and every failure names the path, what is
wrong and what to do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from code_diffusion.engine.devices import resolve_device, torch_dtype
from code_diffusion.engine.errors import ModelLoadError
from code_diffusion.engine.interface import CodeGenerationModel

if TYPE_CHECKING:
    from code_diffusion.engine.adapters.registry import Family
    from code_diffusion.engine.generator import CodeGenerator

EMBEDDED_DIR = Path(__file__).resolve().parent.parent / "models" / "embedded"
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.bin")
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")


@dataclass(frozen=True)
class LoadOptions:
    """The settings a model is loaded with (restart-only in the editor)."""

    model_path: str | None = None
    """A local model directory; ``None`` is the embedded model."""
    device: str = "auto"
    precision: str = "float32"
    """``auto`` picks bfloat16 on a CPU with native bf16; the server keeps float32 by default
    (see docs/benchmarks.md: bfloat16 grows the memory with each new canvas shape)."""
    """``auto``: bfloat16 on a CPU with native bf16, float32 otherwise (``engine.precision``);
    the server's default. :func:`load_model` keeps float32 as its own default."""
    trust_remote_code: bool = False
    allow_unsafe_weights: bool = False
    remote: dict[str, Any] | None = field(default=None, hash=False)
    """``codeDiffusion.remote.*`` (:class:`~code_diffusion.engine.adapters.remote.RemoteOptions`
    fields) when the backend is remote: then nothing is loaded here."""

    def describe_failure(self, exc: Exception) -> str:
        """Why loading failed and which settings fix it, for the error state."""
        if self.remote is not None:
            return (f"Could not load the remote backend: {exc}. Fix the codeDiffusion.remote "
                    "settings and run codeDiffusion.restartModel.")
        return (f"Could not load {self.model_path or 'the embedded model'}: {exc}. Fix the "
                "modelPath/device/precision settings and run codeDiffusion.restartModel.")

    def load(self) -> CodeGenerationModel:
        if self.remote is not None:  # the remote backend: no request is made until a fill
            from code_diffusion.engine.adapters.remote import RemoteModel, RemoteOptions

            return RemoteModel(RemoteOptions(**self.remote))
        return load_model(self.model_path, device=self.device, precision=self.precision,
                          trust_remote_code=self.trust_remote_code,
                          allow_unsafe_weights=self.allow_unsafe_weights)


def load_generator(options: LoadOptions, report: Callable[[str, int], None]) -> CodeGenerator:
    """The language server's loader: the model of ``options`` in a ``CodeGenerator``, with
    ``report(message, percentage)`` called at each phase (none for the remote backend)."""
    if options.remote is not None:
        from code_diffusion.engine.generator import CodeGenerator

        return CodeGenerator(options.load())
    report("Importing torch", 10)
    from code_diffusion.engine.generator import CodeGenerator  # heavy: torch, on first load

    report(f"Loading {options.model_path or 'the embedded model'}", 40)
    model = options.load()
    report("Preparing the generator", 90)
    return CodeGenerator(model)


def load_model(path: str | os.PathLike[str] | None = None, *, device: str = "auto",
               precision: str = "float32", trust_remote_code: bool = False,
               allow_unsafe_weights: bool = False) -> CodeGenerationModel:
    """Load ``path`` (``None`` or empty: the embedded model) on ``device`` in ``precision``."""
    # heavy (torch, transformers): imported on the first load, not when the server starts
    from code_diffusion.engine.adapt import wrap_loaded
    from code_diffusion.engine.adapters.registry import detect_family

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    directory = Path(path).expanduser() if path else EMBEDDED_DIR
    target = resolve_device(device)
    dtype = torch_dtype(precision, target)
    config = _read_config(directory)
    family = detect_family(directory, config)
    _check_weights(directory, allow_unsafe_weights)
    if family.remote_code and not trust_remote_code:
        raise ModelLoadError(
            f"{directory} is a {family.name} checkpoint that ships its own Python code "
            "(auto_map in config.json); code-diffusion runs it only when you allow it: set "
            "codeDiffusion.trustRemoteCode to true (CLI: --trust-remote-code)")
    # a family the engine runs with its own module needs no transformers import
    own = family.load_own(directory, config, dtype) if family.load_own else None
    if own is None:
        from code_diffusion.engine.adapters.copy_head import refuse_in_transformers

        refuse_in_transformers(config, str(directory))
    model, tokenizer = own or _from_pretrained(directory, family, dtype, trust_remote_code,
                                               allow_unsafe_weights)
    model = model.to(target).eval()
    return wrap_loaded(model, tokenizer, family=family, path=directory,
                       metadata=_embedded_metadata(directory))


def _read_config(directory: Path) -> dict[str, Any]:
    if not directory.exists():
        raise ModelLoadError(
            f"model directory {directory} does not exist; set codeDiffusion.modelPath "
            "(CLI: --model) to a local directory holding config.json, the tokenizer files and "
            "model.safetensors, or leave it empty for the embedded model")
    if not directory.is_dir():
        raise ModelLoadError(f"model path {directory} is a file; it must be a directory "
                             "holding config.json, the tokenizer files and model.safetensors")
    config_file = directory / "config.json"
    try:
        return json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(
            f"{directory} has no config.json; a model directory holds config.json, the "
            "tokenizer files (tokenizer.json or vocab files) and model.safetensors") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{config_file} is not valid JSON ({exc}); restore the file "
                             "from the checkpoint") from exc


def _check_weights(directory: Path, allow_unsafe: bool) -> None:
    names = {p.name for p in directory.iterdir()}
    if any(n in names for n in SAFE_WEIGHTS) or any(n.endswith(".safetensors") for n in names):
        return
    pickles = sorted(n for n in names if n in PICKLE_WEIGHTS or n.endswith((".bin", ".pt")))
    if pickles and not allow_unsafe:
        raise ModelLoadError(
            f"{directory} has only pickle weights ({', '.join(pickles)}), which can run "
            "arbitrary code when loaded; convert them to model.safetensors, or set "
            "codeDiffusion.allowUnsafeWeights to true (CLI: --allow-unsafe-weights)")
    if not pickles:
        raise ModelLoadError(f"{directory} has no weights: expected model.safetensors "
                             "(or model.safetensors.index.json with its shards)")


def _from_pretrained(directory: Path, family: Family, dtype, trust_remote_code: bool,
                     allow_unsafe: bool):
    import transformers

    loader = getattr(transformers, family.auto_class)
    options = dict(local_files_only=True, trust_remote_code=trust_remote_code)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(directory), **options)
    except Exception as exc:  # transformers raises many types; name the file and the cause
        raise ModelLoadError(f"could not load the tokenizer from {directory}: {exc}; the "
                             "directory needs tokenizer.json (or the vocab files) that "
                             "match the model") from exc
    try:
        model = loader.from_pretrained(str(directory), dtype=dtype,
                                       use_safetensors=not allow_unsafe or None, **options)
    except Exception as exc:
        raise ModelLoadError(f"could not load the weights in {directory}: {exc}; the files "
                             "may be truncated or from another model: copy the checkpoint "
                             "again") from exc
    vocab = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > vocab:
        raise ModelLoadError(
            f"the tokenizer in {directory} has {len(tokenizer)} tokens but the model's "
            f"embedding has {vocab} rows: the tokenizer belongs to another model; copy the "
            "checkpoint's own tokenizer files")
    return model, tokenizer


def _embedded_metadata(directory: Path) -> dict[str, Any]:
    from code_diffusion.engine.adapters.registry import EMBEDDED_METADATA

    meta = directory / EMBEDDED_METADATA
    if not meta.exists():
        return {}
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta} is not valid JSON ({exc})") from exc
