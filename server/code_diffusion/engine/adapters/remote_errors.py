"""The remote backend's errors: each says what happened and what to do.

:class:`RemoteBackendError` is the base; ``show_in_status`` marks the failures the status bar
keeps showing until a request succeeds again (the server cannot be reached, is too slow or
too busy).
"""

from __future__ import annotations

import json

from code_diffusion.engine.errors import BackendError


class RemoteBackendError(BackendError):
    """The remote backend failed; the message says what happened and what to do."""


class RemoteUnavailable(RemoteBackendError):
    """The server cannot be reached (connection refused, unknown host, reset)."""

    show_in_status = True


class RemoteAuthError(RemoteBackendError):
    """HTTP 401 or 403."""


class RemoteNotFound(RemoteBackendError):
    """HTTP 404: the model or the endpoint does not exist on that server."""


class RemoteInfillUnsupported(RemoteBackendError):
    """HTTP 400 about ``suffix``: the server cannot fill a hole between prefix and suffix."""


class RemoteTimeout(RemoteBackendError):
    """No answer within ``timeout_ms``."""

    show_in_status = True


class RemoteBusy(RemoteBackendError):
    """HTTP 429 or 503 still after every retry."""

    show_in_status = True


class RemoteProtocolError(RemoteBackendError):
    """An answer that is not the completions shape (malformed JSON, no choices)."""


class RemoteServerError(RemoteBackendError):
    """Any other HTTP error."""


def server_message(text: str) -> str:
    """The server's own error message out of an OpenAI-style error body, shortened."""
    try:
        answer = json.loads(text)
    except ValueError:
        return text.strip()[:160] or "no message"
    if isinstance(answer, dict):
        error = answer.get("error", answer.get("detail", answer))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:160]
    return str(answer)[:160]
