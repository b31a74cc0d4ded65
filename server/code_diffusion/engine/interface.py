"""The one interface every model the generator talks to implements.

A :class:`CodeGenerationModel` has ``generate`` (the final candidates) and ``sample`` (the same
work, yielding a :class:`SampleStep` after every denoising step so callers can stream partial
text and stop between steps by closing the iterator). The call shape is the one callers have
always used: ``model.generate(specification, language, partial_code, **params)``, with the
project-wide parameter names of :class:`~code_diffusion.engine.types.GenerationRequest`, plus
the keyword ``sampler=`` (a :class:`~code_diffusion.engine.options.SamplerOptions`) that every
adapter takes.

Every adapter derives from :class:`ModelAdapter`: ``generate`` and ``sample`` build the request
once and hand it, with the options, to :meth:`ModelAdapter.stream`, which the generator calls
directly with the request it built.

Objects that do not have this shape are turned into one by
:func:`code_diffusion.engine.adapt.as_code_generation_model`, which inspects them; nothing
here calls a method to find out whether it works.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import Candidate, GenerationRequest, PartialCode


@dataclass(frozen=True)
class ModelInfo:
    """What is loaded, for ``code-diffusion info``, the status bar and the logs."""

    name: str
    """A short display name (the checkpoint directory's name or the model's own name)."""
    family: str
    """The adapter family: ``embedded``, ``masked-lm``, ``dream``, ``llada``, ``legacy``, ..."""
    device: str = "cpu"
    precision: str = "float32"
    num_parameters: int | None = None
    path: str | None = None
    max_context: int | None = None
    """Longest token window the model was trained on (the generator cuts its window to it)."""
    supported: tuple[str, ...] = ()
    """The request parameters this model honours when set away from their defaults."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "family": self.family, "device": self.device,
            "precision": self.precision, "num_parameters": self.num_parameters,
            "path": self.path, "max_context": self.max_context,
            "supported": list(self.supported), **self.extra,
        }


@dataclass(frozen=True)
class SampleStep:
    """The state after one denoising step."""

    step: int
    """1-based step number."""
    texts: tuple[str, ...]
    """Each row's hole text so far (still-masked slots are left out)."""
    masked: tuple[int, ...]
    """How many slots of each row are still masked."""
    forward_passes: int
    """Forward passes spent so far (a batched pass counts once per chunk)."""
    candidates: tuple[Candidate, ...] = ()
    """Filled in on the last step only: the final candidates, as ``generate`` returns them."""

    @property
    def done(self) -> bool:
        return bool(self.candidates)


@runtime_checkable
class CodeGenerationModel(Protocol):
    """A model that fills a hole in code (or writes code from a specification).

    ``partial_code`` is a :class:`~code_diffusion.engine.types.PartialCode` (or a prefix string,
    a ``(prefix, suffix)`` pair or a ``{"prefix", "suffix"}`` mapping); ``None`` means generate
    from the specification alone. ``params`` are the other
    :class:`~code_diffusion.engine.types.GenerationRequest` fields. ``generate`` returns exactly
    ``num_samples`` candidates. A parameter the model cannot honour, set away from its
    default, raises :class:`~code_diffusion.engine.errors.UnsupportedParameterError`; so does
    a ``sampler`` option the model cannot honour.
    """

    info: ModelInfo

    def generate(self, specification: str, language: str | None = None,
                 partial_code: PartialCode | str | None = None, *,
                 sampler: SamplerOptions | None = None,
                 **params: Any) -> list[Candidate]: ...

    def sample(self, specification: str, language: str | None = None,
               partial_code: PartialCode | str | None = None, *,
               sampler: SamplerOptions | None = None,
               **params: Any) -> Iterator[SampleStep]: ...


class ModelAdapter:
    """The base of every adapter: the request is built once, then :meth:`stream` runs it.

    Context capabilities (the generator checks them, never the adapter's class):
    :attr:`accepts_preamble` and :attr:`accepts_prior` (it honours ``SamplerOptions.preamble``,
    ``prior``; one that does not refuses them through ``SamplerOptions.refuse_unsupported``),
    :attr:`judges_drafts`
    (it implements :meth:`judge` and :meth:`edit`) and :meth:`token_counter`.
    """

    info: ModelInfo
    accepts_preamble: bool = False
    """Honours ``SamplerOptions.preamble`` (snippets ahead of the local prefix)."""
    accepts_prior: bool = False
    """Honours ``SamplerOptions.prior`` (the cache prior among the logits processors; it needs
    the model's token ids, :meth:`token_counter`)."""
    judges_drafts: bool = False
    """Implements :meth:`judge` (per-token probabilities of given texts in the hole, one pass)
    and :meth:`edit` (re-mask a text's unlikely tokens and denoise them again)."""

    def token_counter(self) -> Callable[[str], list[int]] | None:
        """The model tokenizer's ``text → ids`` (for the snippet budget and the cache prior),
        or ``None`` when the model's tokens are not known here."""
        return None

    def judge(self, request: GenerationRequest, options: SamplerOptions,
              texts: Sequence[str]) -> list[tuple[float, ...]]:
        """For each text put in the hole, the probability the model gives each of its tokens
        (all of them masked, scored in one forward pass). Only when :attr:`judges_drafts`."""
        raise NotImplementedError(f"{self.info.name} cannot judge drafts (judges_drafts is "
                                  "false)")

    def edit(self, request: GenerationRequest, options: SamplerOptions, texts: Sequence[str],
             threshold: float) -> list[Candidate]:
        """Each text on the canvas, scored in one pass; its tokens under ``threshold`` masked
        again and denoised. Only when :attr:`judges_drafts`."""
        raise NotImplementedError(f"{self.info.name} cannot edit drafts (judges_drafts is "
                                  "false)")

    def generate(self, specification: str, language: str | None = None,
                 partial_code: PartialCode | str | None = None, *,
                 sampler: SamplerOptions | None = None, **params: Any) -> list[Candidate]:
        """The final ``num_samples`` candidates."""
        steps = self.sample(specification, language, partial_code, sampler=sampler, **params)
        (last,) = deque(steps, maxlen=1)
        return list(last.candidates)

    def sample(self, specification: str, language: str | None = None,
               partial_code: PartialCode | str | None = None, *,
               sampler: SamplerOptions | None = None, **params: Any) -> Iterator[SampleStep]:
        """Yield the state after every step; the last one carries the candidates."""
        request = GenerationRequest(specification=specification, language=language,
                                    partial_code=partial_code, **params)
        return self.stream(request, sampler or SamplerOptions())

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        """Run a validated request with its options (the generator's entry point)."""
        raise NotImplementedError  # pragma: no cover - every adapter defines it
