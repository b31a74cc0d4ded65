"""The model families the engine drives, each described in one place.

A :class:`Family` says how to recognise a checkpoint directory (from its files and
``config.json``) or an in-memory model, which transformers class loads it, whether it ships its
own Python code, and how its :class:`~code_diffusion.engine.adapters.base.Denoiser` is built
(which carries the family's logit alignment and special-token rules). Loading, the adapter
layer and the error messages all ask this registry; a family is added here and nowhere else.

Detection goes through :data:`FAMILIES` in order and takes the first that claims the model;
nothing falls through to a default family: an unknown model is an error that names what was
found and what is supported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_diffusion.engine.adapters.base import Denoiser
from code_diffusion.engine.adapters.families import (
    dream_denoiser,
    has_dream_signature,
    llada_denoiser,
)
from code_diffusion.engine.adapters.masked_lm import MaskedLMDenoiser, masked_lm_denoiser
from code_diffusion.engine.adapters.modernbert import (
    ModernBertDenoiser,
    ModernBertMaskedLM,
    load_own_modernbert,
)
from code_diffusion.engine.errors import ModelLoadError, UnsupportedParameterError

EMBEDDED_METADATA = "code_diffusion.json"
"""The file that marks a directory as the embedded model (or a model trained by ``train``)."""


@dataclass(frozen=True)
class Build:
    """What a family's builder gets besides the model and its tokenizer."""

    name: str | None = None
    metadata: dict[str, Any] | None = None
    native_generate: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Family:
    """One model family: detection, loading class, remote code and the denoiser builder."""

    name: str
    """The family's id (``ModelInfo.family``)."""
    description: str
    """What checkpoints it covers, for error messages and ``docs/engine.md``."""
    auto_class: str
    """The transformers ``Auto*`` class that loads it."""
    remote_code: bool
    """True when its checkpoints ship Python code (``auto_map``): loading needs the user's
    ``trust_remote_code``."""
    claims_config: Callable[[Path, dict[str, Any]], bool]
    claims_module: Callable[[Any], bool]
    build: Callable[[Any, Any, Build], Denoiser]
    load_own: Callable[[Path, dict[str, Any], Any], tuple[Any, Any] | None] | None = None
    """``(directory, config, dtype) -> (model, tokenizer)`` when the engine runs this
    checkpoint with a module of its own (no transformers import), or ``None``: transformers'
    :attr:`auto_class` loads it."""


def _architectures(config: dict[str, Any]) -> list[str]:
    return [str(a) for a in config.get("architectures") or []]


def _model_type(config: dict[str, Any]) -> str:
    return str(config.get("model_type", "")).lower()


def _described(model: Any) -> str:
    config = getattr(model, "config", None)
    return f"{type(model).__name__} {getattr(config, 'model_type', '')}".lower()


def _build_embedded(model: Any, tokenizer: Any, build: Build) -> Denoiser:
    metadata = build.metadata or {}
    kind = ModernBertDenoiser if isinstance(model, ModernBertMaskedLM) else MaskedLMDenoiser
    return masked_lm_denoiser(model, tokenizer, family="embedded",
                              name=metadata.get("name", build.name), trailing_pad=True,
                              max_context=int(metadata.get("max_context", 256)), kind=kind)


EMBEDDED = Family(
    "embedded", "the embedded model and models trained by code-diffusion train "
    f"({EMBEDDED_METADATA} next to config.json)", "AutoModelForMaskedLM", False,
    claims_config=lambda directory, config: (directory / EMBEDDED_METADATA).exists(),
    claims_module=lambda model: False,
    build=_build_embedded, load_own=load_own_modernbert)

LLADA = Family(
    "llada", "LLaDA (model_type 'llada')", "AutoModel", True,
    claims_config=lambda directory, config: (
        _model_type(config) == "llada" or any("LLaDA" in a for a in _architectures(config))),
    claims_module=lambda model: "llada" in _described(model),
    build=lambda model, tokenizer, build: llada_denoiser(
        model, tokenizer, name=build.name, native_generate=build.native_generate))

DREAM = Family(
    "dream", "Dream / Dream-Coder / DiffuCoder / Open-dCoder (model_type 'dream' or "
    "'open-dcoder', a Dream* architecture, diffusion_generate)", "AutoModel", True,
    claims_config=lambda directory, config: (
        _model_type(config) in ("dream", "open-dcoder")
        or any("Dream" in a for a in _architectures(config))),
    claims_module=has_dream_signature,
    build=lambda model, tokenizer, build: dream_denoiser(model, tokenizer, name=build.name))

MASKED_LM = Family(
    "masked-lm", "any *ForMaskedLM architecture (BERT, RoBERTa, ModernBERT)",
    "AutoModelForMaskedLM", False,
    claims_config=lambda directory, config: any(
        a.endswith("ForMaskedLM") for a in _architectures(config)),
    claims_module=lambda model: type(model).__name__.endswith("ForMaskedLM"),
    build=lambda model, tokenizer, build: masked_lm_denoiser(model, tokenizer, name=build.name))

FAMILIES: tuple[Family, ...] = (EMBEDDED, DREAM, LLADA, MASKED_LM)
"""Every supported family, in detection order (the first that claims a model wins)."""


def supported() -> str:
    """The supported families, for error messages."""
    return "; ".join(f"{f.name}: {f.description}" for f in FAMILIES)


def family_named(name: str) -> Family:
    for family in FAMILIES:
        if family.name == name:
            return family
    raise ModelLoadError(f"no model family is called {name!r}; supported: {supported()}")


def detect_family(directory: Path, config: dict[str, Any]) -> Family:
    """The family of the checkpoint in ``directory``, from its files and ``config`` alone."""
    for family in FAMILIES:
        if family.claims_config(directory, config):
            return family
    raise ModelLoadError(
        f"{directory}/config.json: model_type {_model_type(config) or '(none)'!r} "
        f"(architectures {_architectures(config) or '(none)'}, auto_map "
        f"{config.get('auto_map') or '(none)'}) is not a family code-diffusion can drive. "
        f"Supported: {supported()}")


def family_of_module(model: Any) -> Family:
    """The family of an in-memory model (its class, config and methods, inspected)."""
    for family in FAMILIES:
        if family.claims_module(model):
            return family
    raise UnsupportedParameterError(type(model).__name__, "model",
                                    [f.description for f in FAMILIES if f is not EMBEDDED])
