"""Request and result types, with the project-wide parameter names.

Every layer (CLI, language server, benchmark, evaluation) builds a :class:`GenerationRequest`
and gets back a list of :class:`Candidate`. Validation happens here, once, with messages that
name the field, the value given and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from code_diffusion.engine.errors import InvalidRequestError

PRECISIONS = ("float32", "bfloat16", "float16", "auto")
"""``auto``: see :mod:`code_diffusion.engine.precision`."""
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
"""The device names a request, a setting or ``--device`` may give."""


@dataclass(frozen=True)
class PartialCode:
    """The buffer around the hole: the hole sits between ``prefix`` and ``suffix``."""

    prefix: str = ""
    """Text before the hole (everything above and left of the cursor)."""
    suffix: str = ""
    """Text after the hole (everything right of and below the cursor, or after a selection)."""

    @classmethod
    def coerce(cls, value: PartialCode | str | Mapping[str, str] | tuple[str, str] | None
               ) -> PartialCode | None:
        """Accept the shapes callers use: a ``PartialCode``, a prefix string, a
        ``{"prefix", "suffix"}`` mapping or a ``(prefix, suffix)`` pair."""
        if value is None or isinstance(value, PartialCode):
            return value
        if isinstance(value, str):
            return cls(prefix=value, suffix="")
        if isinstance(value, Mapping):
            unknown = set(value) - {"prefix", "suffix"}
            if unknown:
                raise InvalidRequestError(
                    "partial_code",
                    f"partial_code has unknown keys {sorted(unknown)}; allowed: prefix, suffix",
                )
            return cls(prefix=str(value.get("prefix", "")), suffix=str(value.get("suffix", "")))
        if isinstance(value, tuple) and len(value) == 2:
            return cls(prefix=str(value[0]), suffix=str(value[1]))
        raise InvalidRequestError(
            "partial_code",
            f"partial_code must be a string, a (prefix, suffix) pair or a mapping with prefix "
            f"and suffix, got {type(value).__name__}",
        )


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: what to write, where, and how to sample it."""

    specification: str = ""
    """Natural-language intent (a comment, a docstring, a command argument); may be empty."""
    language: str | None = None
    """LSP language id (``python``, ``typescript``, ...); ``None`` means detect."""
    partial_code: PartialCode | None = None
    """Prefix and suffix around the hole; ``None`` means generate from the specification alone."""
    max_length: int = 64
    """Most new tokens in the hole (the canvas may be shorter, chosen from the hole)."""
    num_samples: int = 1
    """How many candidates come back: always exactly this many."""
    batch_size: int = 4
    """How many sequences one forward pass holds: speed and memory, never the result count."""
    guidance_scale: float = 1.0
    """Classifier-free guidance on the specification; 1.0 is off."""
    temperature: float = 0.0
    """Sampling temperature; 0 is greedy."""
    steps: int = 64
    """Upper bound on denoising steps per candidate."""
    precision: str = "float32"
    """``float32``, ``bfloat16``, ``float16`` or ``auto`` (as loaded; float32 too: only
    another precision than the loaded one is refused)."""
    device: str = "auto"
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    use_rewards: bool = True
    """Score candidates (syntax, confidence, suffix overlap) and rank them."""
    num_iterations: int = 0
    """Refinement rounds: re-mask the least confident tokens of the best candidate and denoise."""
    seed: int | None = None
    """Makes sampling reproducible."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "partial_code", PartialCode.coerce(self.partial_code))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InvalidRequestError` naming the first bad field."""
        _check_type("specification", self.specification, str)
        if self.language is not None:
            _check_type("language", self.language, str)
        _check_int("max_length", self.max_length, 1, 4096)
        _check_int("num_samples", self.num_samples, 1, 64)
        _check_int("batch_size", self.batch_size, 1, 256)
        _check_float("guidance_scale", self.guidance_scale, 0.0, 20.0)
        _check_float("temperature", self.temperature, 0.0, 10.0)
        _check_int("steps", self.steps, 1, 4096)
        _check_int("num_iterations", self.num_iterations, 0, 16)
        if self.precision not in PRECISIONS:
            raise InvalidRequestError(
                "precision",
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}",
            )
        if not isinstance(self.device, str) or not DEVICE_PATTERN.match(self.device):
            raise InvalidRequestError(
                "device",
                f"device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}",
            )
        if not isinstance(self.use_rewards, bool):
            raise InvalidRequestError(
                "use_rewards", f"use_rewards must be true or false, got {self.use_rewards!r}"
            )
        if self.seed is not None:
            _check_int("seed", self.seed, 0, 2**63 - 1)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {f.name: f.default for f in dataclasses.fields(cls)}


ORIGINS = ("denoised", "draft", "edited_draft")
"""The values of :attr:`Candidate.origin`."""


@dataclass(frozen=True)
class Candidate:
    """One generated completion for the hole."""

    text: str
    """The text that goes into the hole."""
    confidence: tuple[float, ...] = ()
    """Per-token probability of each committed token, in order."""
    forward_passes: int = 0
    """Model forward passes spent on this candidate (shared passes are counted for each row)."""
    rewards: Mapping[str, float] = field(default_factory=dict)
    """Reward scores by name (``syntax``, ``confidence``, ``suffix_overlap``, ...)."""
    score: float = 0.0
    """The ranking score (higher is better)."""
    problems: tuple[str, ...] = ()
    """Checks this candidate failed (empty hole, added syntax errors, ...); empty if it passed."""
    origin: str = "denoised"
    """Where it came from: ``denoised`` (the model wrote it), ``draft`` (copied from the file or
    the workspace by context assembly) or ``edited_draft`` (a draft the model re-masked in part
    and denoised again)."""
    pieces: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """Each committed token's text, in order (as ``confidence``), when the sampler knows it:
    for cutting a line at the confidence cliff."""
    source: str = ""
    """For a draft or an edited draft, ``path:line`` (1-based) of the place it was copied from
    (``this file:line`` for a document without a path), then ``, renamed old → new`` when it
    took the hole's names; empty for a denoised candidate."""
    chance: float | None = None
    """The estimated chance that this is the text the user would write (``engine/chance.py``):
    ghost text is shown only from ``inline.minChance`` up. ``None``: no estimate (a denoised
    candidate of a model without a calibration)."""

    @property
    def mean_confidence(self) -> float:
        return sum(self.confidence) / len(self.confidence) if self.confidence else 0.0

    def provenance(self) -> str:
        """Where the candidate came from, in words (the editor's completion menu shows it)."""
        if self.origin == "draft":
            return f"copied from {self.source}"
        if self.origin == "edited_draft":
            return f"copied from {self.source}, edited by the model"
        if not self.confidence:
            return "written by the model"
        return f"written by the model, confidence {self.mean_confidence:.2f}"

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": self.mean_confidence,
            "token_confidence": list(self.confidence),
            "forward_passes": self.forward_passes,
            "rewards": dict(self.rewards),
            "score": self.score,
            "problems": list(self.problems),
            "origin": self.origin,
            "source": self.source,
            "chance": self.chance,
        }


def _check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise InvalidRequestError(
            name, f"{name} must be a {kind.__name__}, got {type(value).__name__} {value!r}"
        )


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(name, f"{name} must be an integer, got {value!r}")
    if value < low:
        raise InvalidRequestError(name, f"{name} must be ≥ {low}, got {value}")
    if value > high:
        raise InvalidRequestError(name, f"{name} must be ≤ {high}, got {value}")


def _check_float(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(name, f"{name} must be a number, got {value!r}")
    if value != value or value < low or value > high:  # NaN fails the first test
        raise InvalidRequestError(name, f"{name} must be between {low} and {high}, got {value}")
