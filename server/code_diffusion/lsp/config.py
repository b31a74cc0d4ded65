"""The server's settings: restart-only :class:`InitOptions` and live :class:`Settings`.

Both are attrs classes read from camelCase JSON with a cattrs converter. Parsing never fails: a
value of the wrong type or out of range becomes a :class:`SettingError` (naming the key, the
value and what is allowed) and the default is used; unknown keys are returned for logging.
``docs/protocol.md`` holds the same table for the editors.

Where settings come from (later wins): defaults; ``initializationOptions`` (flat, or under a
top-level ``codeDiffusion`` key), which may carry live keys too; then the ``codeDiffusion``
section of ``workspace/configuration`` for the live keys. Restart-only keys seen in
``workspace/configuration`` are kept for ``codeDiffusion.restartModel``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from code_diffusion.engine.chance import MIN_CHANCE
from code_diffusion.engine.context import ContextOptions
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import DEVICE_PATTERN

SECTION = "codeDiffusion"
CLIENT_KEYS = frozenset({"pythonPath", "trace"})
"""Keys of the section that belong to the editor side; ignored without a log line."""
_ENV_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)?$")
C = TypeVar("C")
def _setting(default: Any, allowed: str, check: Callable[[Any], bool] | None = None) -> Any:
    return attrs.field(default=default, metadata={"allowed": allowed, "check": check})


def _between(low: float, high: float) -> Callable[[Any], bool]:
    return lambda value: low <= value <= high


def _one_of(*choices: str) -> Callable[[Any], bool]:
    return lambda value: value in choices


@attrs.frozen
class InitOptions:
    """Restart-only settings, read from ``initializationOptions``."""

    model_path: str = _setting("", "a local model directory; empty for the embedded model")
    """The model directory; empty means the embedded model."""
    device: str = _setting("auto", "auto, cpu, cuda, cuda:N or mps",
                           lambda value: bool(DEVICE_PATTERN.match(value)))
    """Where the model runs."""
    precision: str = _setting("float32", "auto, float32, bfloat16 or float16",
                              _one_of("auto", "float32", "bfloat16", "float16"))
    """The weights' floating-point precision; ``auto``: bfloat16 on a CPU with native bf16,
    float32 otherwise (:mod:`code_diffusion.engine.precision`)."""
    trust_remote_code: bool = _setting(False, "true or false")
    """Run a checkpoint's own Python code."""
    allow_unsafe_weights: bool = _setting(False, "true or false")
    """Load pickle (.bin/.pt) weights."""
    log_level: str = _setting("info", "error, warning, info or debug",
                              _one_of("error", "warning", "info", "debug"))
    """How much goes to window/logMessage and the log file."""
    backend: str = _setting("local", "local or remote", _one_of("local", "remote"))
    """``local``: the model runs in the server; ``remote``: an HTTP completions server."""
    remote__url: str = _setting("", "the server's http:// or https:// address; empty unless "
                                "backend is remote",
                                lambda value: value == "" or value.startswith(("http://",
                                                                                "https://")))
    """Where the remote backend is, e.g. ``http://127.0.0.1:8000``."""
    remote__model: str = _setting("", "the model name the server lists; empty to send none")
    remote__path: str = _setting("/v1/completions", "an endpoint path starting with /",
                                 lambda value: value.startswith("/"))
    remote__api_key_env: str = _setting("", "the name of an environment variable (not the key)",
                                        lambda value: bool(_ENV_NAME.match(value)))
    remote__timeout_ms: int = _setting(30000, "an integer from 100 to 600000",
                                       _between(100, 600000))
    remote__retries: int = _setting(2, "an integer from 0 to 10", _between(0, 10))
    remote__stream: bool = _setting(True, "true or false")
    remote__allow_prefix_only: bool = _setting(False, "true or false")
    remote__steps: int = _setting(0, "an integer from 0 to 4096", _between(0, 4096))
    """Diffusion extras, sent only when above 0."""
    remote__block_length: int = _setting(0, "an integer from 0 to 4096", _between(0, 4096))
    remote__threshold: float = _setting(0.0, "a number from 0 to 1", _between(0, 1))

    def remote_options(self) -> dict[str, Any]:
        """The ``remote.*`` settings as :class:`RemoteOptions` keyword arguments."""
        return {f.name.removeprefix("remote__"): getattr(self, f.name)
                for f in attrs.fields(type(self)) if f.name.startswith("remote__")}


@attrs.frozen
class Settings:
    """Live settings, pulled with ``workspace/configuration``."""

    enable_inline_completion: bool = _setting(True, "true or false")
    """Ghost text on or off."""
    temperature: float = _setting(0.0, "a number from 0 to 2", _between(0, 2))
    """Sampling temperature; 0 is greedy."""
    repetition_penalty: float = _setting(1.0, "a number from 1 to 3", _between(1, 3))
    """The repetition penalty inside the hole (``SamplerOptions.repetition_penalty``); 1 is
    off."""
    steps: int = _setting(8, "an integer from 1 to 512", _between(1, 512))
    """Upper bound on denoising steps."""
    max_length: int = _setting(48, "an integer from 1 to 256", _between(1, 256))
    """Most new tokens in a hole."""
    num_samples: int = _setting(0, "an integer from 0 to 8", _between(0, 8))
    """Deprecated: 1 to 8 sets the candidates of every kind below; 0 leaves each kind its own."""
    debounce_ms: int = _setting(50, "an integer from 0 to 2000", _between(0, 2000))
    """How long a completion request waits for a newer one before it runs."""
    use_rewards: bool = _setting(True, "true or false")
    """Rank candidates by syntax, confidence and suffix overlap."""
    show_notifications: str = _setting("onError", "off, onError, onWarning or always",
                                       _one_of("off", "onError", "onWarning", "always"))
    """Which events become a window/showMessage."""
    # -- candidates per request kind (see KINDS) --
    inline__num_samples: int = _setting(1, "an integer from 1 to 8", _between(1, 8))
    """Ghost text shows one candidate: one is generated."""
    inline__min_chance: float = _setting(MIN_CHANCE, "a number from 0 to 1", _between(0, 1))
    """Ghost text is shown only when the candidate's estimated chance of being right
    (``engine/chance.py``) reaches this; 0 shows every candidate. A candidate without an
    estimate (a model without a calibration) is shown."""
    menu__num_samples: int = _setting(3, "an integer from 1 to 8", _between(1, 8))
    """The completion menu lists every candidate."""
    actions__num_samples: int = _setting(3, "an integer from 1 to 8", _between(1, 8))
    """Code actions and commands apply the best of their candidates."""

    # -- context: the document and the workspace as the model's context (lsp/workspace.py) --
    context__enabled: bool = _setting(True, "true or false")
    """Context assembly (drafts, snippets, the cache prior) on or off."""
    context__workspace: bool = _setting(True, "true or false")
    """Index the workspace folders' files; off: the open documents only."""
    context__max_files: int = _setting(10000, "an integer from 0 to 100000",
                                       _between(0, 100000))
    context__max_file_bytes: int = _setting(1000000, "an integer from 1000 to 10000000",
                                            _between(1000, 10000000))
    context__prior_weight: float = _setting(0.0, "a number from 0 to 2", _between(0, 2))
    """Weight of the cache prior in the logits; 0 is off."""

    def context_options(self) -> ContextOptions | None:
        """The engine's context options, or ``None`` when context assembly is off."""
        if not self.context__enabled:
            return None
        # ``context.workspace`` only says whether the folders are read: the other open
        # documents are in the index either way
        return ContextOptions(prior_weight=float(self.context__prior_weight))

    def sampler_options(self) -> SamplerOptions:
        """The engine's sampler options these settings set (the rest stay the engine's)."""
        return SamplerOptions(repetition_penalty=float(self.repetition_penalty))

    def generation_params(self, kind: str) -> dict[str, Any]:
        """The ``GenerationRequest`` fields these settings set for a request of ``kind`` (one
        of :data:`KINDS`): the deprecated ``numSamples``, when set, wins over every kind's."""
        if kind not in KINDS:
            raise ValueError(f"unknown request kind {kind!r}; one of {', '.join(KINDS)}")
        samples = self.num_samples or getattr(self, f"{kind}__num_samples")
        return {"temperature": float(self.temperature), "steps": self.steps,
                "max_length": self.max_length, "num_samples": samples,
                "use_rewards": self.use_rewards}


KINDS = ("inline", "menu", "actions")
"""The request kinds with their own settings: ghost text, the completion menu, code actions
(and the commands that run them)."""
NESTED = frozenset({"remote", "context", *KINDS})
"""Keys whose value may be a nested object of settings (Neovim tables), such as
``{"context": {"workspace": false}}``."""


@dataclass(frozen=True)
class SettingError:
    """A setting whose value was refused; its default is used instead."""

    key: str
    value: Any
    allowed: str
    default: Any

    def __str__(self) -> str:
        return (f"{SECTION}.{self.key} = {_json(self.value)} is not allowed (use "
                f"{self.allowed}); using the default {_json(self.default)}")


def camel(name: str) -> str:
    """``log_level`` -> ``logLevel``; a double underscore is a dot: ``remote__timeout_ms`` ->
    ``remote.timeoutMs``."""
    if "__" in name:
        return ".".join(camel(part) for part in name.split("__"))
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects (:data:`NESTED`) as dotted keys: ``{"remote": {"url": u}}`` ->
    ``{"remote.url": u}`` (Neovim sends tables; VS Code sends the dotted keys already). A
    nested value wins over the
    same dotted key, so a nested table set by the user overrides dotted defaults."""
    flat: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping) and key in NESTED:
            nested.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return {**flat, **nested}


def _json(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return "null" if value is None else repr(value)


def _strict(kind: type) -> Callable[[Any, type], Any]:
    """A structure hook that accepts exactly the JSON type (an integral float for ``int``)."""

    def hook(value: Any, _: type) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {kind.__name__}, got a boolean")
        if kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return hook


def make_converter() -> cattrs.Converter:
    """The camelCase converter for :class:`InitOptions` and :class:`Settings`."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    for kind in (bool, int, float, str):
        converter.register_structure_hook(kind, _strict(kind))
    for cls in (InitOptions, Settings):
        attrs.resolve_types(cls)
        renames = {f.name: override(rename=camel(f.name)) for f in attrs.fields(cls)}
        converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, **renames))
        converter.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, converter, **renames))
    return converter


CONVERTER = make_converter()


def keys(cls: type) -> tuple[str, ...]:
    """The camelCase keys of ``cls``."""
    return tuple(camel(f.name) for f in attrs.fields(cls))


def parse(cls: type[C], raw: Mapping[str, Any]) -> tuple[C, list[SettingError]]:
    """``cls`` from the keys of ``raw`` it knows; other keys and ``null`` values are ignored.

    Returns the settings and the refused values (each replaced by its default).
    """
    raw = flatten(raw)
    good: dict[str, Any] = {}
    errors: list[SettingError] = []
    for field in attrs.fields(cls):
        key = camel(field.name)
        if raw.get(key) is None:  # absent or null: the default
            continue
        value = raw[key]
        try:
            converted = CONVERTER.structure(value, field.type)
            check = field.metadata.get("check")
            if check is not None and not check(converted):
                raise ValueError(key)
        except (TypeError, ValueError):
            errors.append(SettingError(key, value, field.metadata["allowed"], field.default))
            continue
        good[key] = value
    return CONVERTER.structure(good, cls), errors


def section_of(raw: Any) -> dict[str, Any]:
    """The settings object in ``raw``: ``raw["codeDiffusion"]`` when present, else ``raw``."""
    if not isinstance(raw, Mapping):
        return {}
    nested = raw.get(SECTION)
    return flatten(nested) if isinstance(nested, Mapping) else flatten(raw)


def unknown_keys(raw: Mapping[str, Any]) -> list[str]:
    known = set(keys(InitOptions)) | set(keys(Settings)) | CLIENT_KEYS
    return sorted(key for key in flatten(raw) if key not in known)


def to_json(settings: InitOptions | Settings) -> dict[str, Any]:
    return CONVERTER.unstructure(settings)
