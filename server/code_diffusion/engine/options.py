"""``SamplerOptions``: how a hole is laid out and denoised, decided once and validated.

A :class:`~code_diffusion.engine.types.GenerationRequest` says *what* to write (the
specification, the code around the hole, how many candidates, the temperature, ...). A
:class:`SamplerOptions` says *how* the engine's sampler works on it: the hole's kind, the
canvas rules (how many slots, whether unused ones may stay ``[PAD]``) and the commit policy.
Every rule that sizes the canvas lives here (:meth:`SamplerOptions.slots`), so the generator
and the canvas never decide it twice.

Every adapter takes the options: the engine's sampler honours them all; an adapter over a model
that generates by itself honours only the advisory ones (:data:`ADVISORY`) and refuses any other
field set away from its default with :class:`UnsupportedParameterError`.

Per-request context (drafts to put on the canvas, snippet text ahead of the prefix, an extra
logits processor) belongs here as further optional fields with a default of "none": the canvas
reads them when it lays out the rows, the sampler when it builds its processors, and adapters
that cannot honour them refuse them through the same check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from code_diffusion.engine.context.prior import NgramCache
from code_diffusion.engine.errors import InvalidRequestError, UnsupportedParameterError

HOLE_KINDS = ("auto", "line", "block", "span")
POLICIES = ("threshold", "quota")
CACHES = ("none", "block")
LINE_CANVAS, BLOCK_CANVAS = 24, 64
"""Default canvas slots of a line hole and of a block (or mid-line ``auto``) hole."""
HEALED_LINE_EXTRA = 4
"""Slots added to a line canvas when the prefix's line break moved into the hole: the model
writes the break and the indentation first."""
ADVISORY = ("kind", "span_chars", "healed_break", "should_stop")
"""Fields every adapter honours: the kind, span size and healed break only describe the hole
(the generator cuts and checks the candidates with them); ``should_stop`` is checked by the
generator between steps."""


@dataclass(frozen=True)
class SamplerOptions:
    """The canvas rules and the sampler's settings for one generation (frozen, validated)."""

    kind: str = "auto"
    """The hole's kind: ``line`` (cut at the first line end), ``block``, ``span`` or ``auto``
    (unknown: a line canvas when the hole sits mid-line, a block canvas otherwise)."""
    length_control: bool = True
    """Trim unused slots (``[PAD]``). False: a fixed canvas of ``max_length`` slots that must all
    be filled with real tokens (the usual setting of published infill numbers)."""
    canvas_length: int | None = None
    """Force the canvas length (for an oracle-length evaluation)."""
    span_chars: int | None = None
    """With ``kind="span"``: characters of the text the span replaces (sizes the canvas)."""
    healed_break: bool = False
    """The prefix's trailing line break moved into the hole (see ``generator.heal_prefix``): a
    line hole is then sampled as a short block and cut into lines after unhealing."""
    policy: str = "threshold"
    threshold: float = 0.9
    top_p: float = 1.0
    cache: str = "block"
    """``none``: every pass runs the whole window. ``block``: after a full pass, passes run only
    the hole's columns against the kept keys and values of the context (an approximation;
    models without the capability run every pass in full)."""
    cache_refresh: int = 0
    """With ``cache="block"``: a full pass every this many passes (0: only the first)."""
    window: int | None = None
    """Most tokens of the canvas (context and hole); ``None``: the model's whole window."""
    preamble: str = ""
    """Text from elsewhere in the file and the workspace (rendered snippets, see
    ``docs/context.md``) placed ahead of the local prefix in the window; empty: none."""
    prior: NgramCache | None = field(default=None, compare=False)
    """The cache prior's token n-grams (``Context.prior``); with ``prior_weight > 0`` the sampler
    adds a :class:`~code_diffusion.engine.context.prior.CachePriorProcessor` to its logits
    processors. ``None``: off."""
    prior_weight: float = 0.0
    repetition_penalty: float = 1.0
    """Inside the hole, a word token the row already holds ``repetition_free`` times or more has
    its logit divided by this per further repeat (``engine/repetition.py``); 1 is off."""
    repetition_free: int = 2
    """How often a word token may appear in the hole before the penalty applies."""
    distinct_rows: bool = True
    """At temperature 0, a row whose canvas length an earlier row has already (every row
    after the first when there is no ladder of lengths: a healed line, a span, a fixed or forced
    canvas, a model without trailing ``[PAD]``) starts from a different first commit: the
    most probable token that is not a slot's greedy choice, the ``k``-th such for the ``k``-th
    repeat. So a request's candidates differ; the first row stays the greedy one and its
    candidate ranks first (docs/model-card.md has the figures). False: every row greedy.
    Sampling (temperature > 0) makes rows differ by itself and ignores it."""
    should_stop: Callable[[], bool] | None = None
    """Checked between steps; True stops with :class:`GenerationCancelled`."""

    def __post_init__(self) -> None:
        _one_of("kind", self.kind, HOLE_KINDS)
        _one_of("policy", self.policy, POLICIES)
        _one_of("cache", self.cache, CACHES)
        if not isinstance(self.length_control, bool):
            raise InvalidRequestError("length_control", f"length_control must be true or "
                                                        f"false, got {self.length_control!r}")
        if not isinstance(self.healed_break, bool):
            raise InvalidRequestError("healed_break", f"healed_break must be true or false, "
                                                      f"got {self.healed_break!r}")
        _optional_int("canvas_length", self.canvas_length, 1)
        _optional_int("span_chars", self.span_chars, 0)
        _optional_int("window", self.window, 8)
        _optional_int("cache_refresh", self.cache_refresh, 0)
        _fraction("threshold", self.threshold)
        _fraction("top_p", self.top_p)
        if not isinstance(self.preamble, str):
            raise InvalidRequestError("preamble", f"preamble must be a string, got "
                                                  f"{type(self.preamble).__name__}")
        if isinstance(self.prior_weight, bool) or not isinstance(self.prior_weight, int | float) \
                or not self.prior_weight >= 0:
            raise InvalidRequestError("prior_weight", f"prior_weight must be a number ≥ 0 "
                                                      f"(0 is off), got {self.prior_weight!r}")
        if isinstance(self.repetition_penalty, bool) or not isinstance(
                self.repetition_penalty, int | float) or not 1 <= self.repetition_penalty <= 10:
            raise InvalidRequestError(
                "repetition_penalty", f"repetition_penalty must be a number from 1 to 10 (1 is "
                                      f"off), got {self.repetition_penalty!r}")
        _optional_int("repetition_free", self.repetition_free, 1)
        if self.repetition_free is None:
            raise InvalidRequestError("repetition_free", "repetition_free must be an integer "
                                                         "≥ 1, got None")
        if not isinstance(self.distinct_rows, bool):
            raise InvalidRequestError("distinct_rows", f"distinct_rows must be true or false, "
                                                       f"got {self.distinct_rows!r}")
        if self.should_stop is not None and not callable(self.should_stop):
            raise InvalidRequestError("should_stop", "should_stop must be a callable or None")

    # -- the canvas rules: the one place they are decided ------------------------------------
    @property
    def sampled_kind(self) -> str:
        """The kind the sampler cuts by: a healed line is sampled as a block."""
        return "block" if self.kind == "line" and self.healed_break else self.kind

    @property
    def ladder(self) -> bool:
        """Rows may get canvases of different lengths (when the model leaves ``[PAD]`` in unused
        slots): only when the length is the sampler's default, not forced or derived."""
        return self.length_control and self._derived_length(1 << 30) is None

    def slots(self, max_length: int) -> int:
        """How many hole slots the canvas has for a request of ``max_length``."""
        derived = self._derived_length(max_length)
        if derived is not None:
            return derived
        if not self.length_control:
            return max_length
        return min(max_length, LINE_CANVAS if self.sampled_kind == "line" else BLOCK_CANVAS)

    def _derived_length(self, max_length: int) -> int | None:
        """A canvas length forced by the caller or derived from the hole, else ``None``."""
        if self.canvas_length is not None:
            return self.canvas_length
        if not self.length_control:
            return None
        if self.kind == "span" and self.span_chars is not None:
            # about 3 characters per token in code; over-allocate, unused slots are trimmed
            return min(max_length, self.span_chars // 2 + 8)
        if self.kind == "line" and self.healed_break:
            return min(max_length, LINE_CANVAS + HEALED_LINE_EXTRA)
        return None

    # -- adapters that cannot honour everything ----------------------------------------------
    def refuse_unsupported(self, model: str, supported: tuple[str, ...] = ()) -> None:
        """Raise :class:`UnsupportedParameterError` for the first field set away from its
        default that is neither advisory nor in ``supported``."""
        for option in dataclasses.fields(self):
            if option.name in ADVISORY or option.name in supported:
                continue
            if getattr(self, option.name) != option.default:
                raise UnsupportedParameterError(
                    model, f"sampler option {option.name}",
                    [f"sampler option {name}" for name in (*ADVISORY, *supported)])


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidRequestError(name, f"{name} must be one of {', '.join(allowed)}, "
                                        f"got {value!r}")


def _optional_int(name: str, value: object, low: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidRequestError(name, f"{name} must be an integer ≥ {low} or None, "
                                        f"got {value!r}")


def _fraction(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InvalidRequestError(name, f"{name} must be a number in (0, 1], got {value!r}")
