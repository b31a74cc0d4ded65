"""The engine's errors. Each says what is wrong and what to do about it."""

from __future__ import annotations


class CodeDiffusionError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidRequestError(CodeDiffusionError, ValueError):
    """A request parameter has a value the engine does not accept.

    The message names the field, the value given and what is allowed, e.g.
    ``num_samples must be ≥ 1, got 0``.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnsupportedParameterError(CodeDiffusionError):
    """A parameter was set away from its default on a model that cannot honour it."""

    def __init__(self, model: str, parameter: str, supported: list[str] | tuple[str, ...]) -> None:
        supported_text = ", ".join(sorted(supported)) or "none"
        super().__init__(
            f"{model} does not support the parameter {parameter!r}; leave it at its default. "
            f"It supports: {supported_text}."
        )
        self.model = model
        self.parameter = parameter
        self.supported = tuple(supported)


class ModelLoadError(CodeDiffusionError):
    """A model directory is missing, incomplete, corrupt or refused by the security policy."""


class DeviceError(CodeDiffusionError):
    """The requested device or precision cannot run on this machine."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class GenerationCancelled(CodeDiffusionError):
    """Generation stopped between denoising steps because the caller cancelled it."""


class GenerationError(CodeDiffusionError):
    """No candidate passed the checks. ``reasons`` lists which checks failed and why."""

    def __init__(self, message: str, reasons: list[str] | tuple[str, ...]) -> None:
        detail = "; ".join(reasons)
        super().__init__(f"{message}: {detail}" if detail else message)
        self.reasons = tuple(reasons)


class BackendError(CodeDiffusionError):
    """The server the model runs on failed (the remote backend: unreachable, refused, too
    slow, a malformed answer). Not a bug of this program: the message says what happened and
    which setting or server to fix. ``show_in_status``: the status keeps showing it until a
    request succeeds again."""

    show_in_status = False

