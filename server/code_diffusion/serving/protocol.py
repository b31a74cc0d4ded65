"""The OpenAI completions shape, as ``code-diffusion serve-ray`` reads and answers it.

A request is ``{"prompt", "suffix"?, "max_tokens"?, "temperature"?, "n"?, "stop"?, "stream"?,
"seed"?, "model"?, "steps"?, "threshold"?, "block_length"?, "code_diffusion"?}``; the answer is
``{"id", "object": "text_completion", "created", "model", "choices": [{"index", "text",
"finish_reason"}]}``, or with ``stream`` server-sent events of the same choices followed by
``data: [DONE]``. A bad request gets HTTP 400 with ``{"error": {"message", "type", "param"}}``
naming the field, the value and what is allowed.

``code_diffusion`` is this server's own field, sent by the remote backend (never to other
servers): the hole's shape as the language server decided it, ``{"kind", "healed_break"?,
"span_chars"?, "canvas_length"?, "length_control"?, "preamble"?}`` (the
:class:`~code_diffusion.engine.options.SamplerOptions` fields of the same names), so that the
canvas is the one the local engine would lay out: a line canvas for a line, the snippets from
the file and the workspace ahead of the prefix.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from code_diffusion.engine.errors import InvalidRequestError
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.serving.batch import Job

KNOWN = {"prompt", "suffix", "max_tokens", "temperature", "n", "stop", "stream", "seed", "model",
         "steps", "threshold", "block_length", "top_p", "user", "echo", "logprobs",
         "code_diffusion"}
HOLE_FIELDS = ("kind", "healed_break", "span_chars", "canvas_length", "length_control",
               "preamble")
LIMITS = {"max_tokens": (1, 1024), "n": (1, 16), "steps": (1, 512)}


class BadRequest(ValueError):
    """A request the server refuses; ``param`` names the field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": "invalid_request_error",
                          "param": self.param}}


def parse(body: Any, *, default_steps: int, default_max_tokens: int = 48) -> tuple[Job, bool]:
    """The :class:`Job` of a request body and whether it asks for a stream."""
    if not isinstance(body, dict):
        raise BadRequest("body", "the body must be a JSON object with at least 'prompt'")
    unknown = sorted(set(body) - KNOWN)
    if unknown:
        raise BadRequest(unknown[0], f"unknown field(s) {', '.join(unknown)}; allowed: "
                                     f"{', '.join(sorted(KNOWN))}")
    prompt = _string(body, "prompt", required=True)
    suffix = _string(body, "suffix")
    stop = body.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise BadRequest("stop", f"stop must be a string or a list of strings, got {stop!r}")
    temperature = body.get("temperature", 0.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not (
            0 <= temperature <= 2):
        raise BadRequest("temperature", f"temperature must be a number from 0 to 2, got "
                                        f"{temperature!r}")
    threshold = body.get("threshold", 0.9)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
            0 < threshold <= 1):
        raise BadRequest("threshold", f"threshold must be a number above 0 and at most 1, got "
                                      f"{threshold!r}")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise BadRequest("seed", f"seed must be a non-negative integer, got {seed!r}")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("stream", f"stream must be true or false, got {stream!r}")
    job = Job(prompt=prompt, suffix=suffix,
              max_tokens=_integer(body, "max_tokens", default_max_tokens),
              temperature=float(temperature), n=_integer(body, "n", 1),
              steps=_integer(body, "steps", default_steps), threshold=float(threshold),
              seed=seed, stop=tuple(stop), hole=_hole(body.get("code_diffusion")))
    return job, stream


def answer(job: Job, model: str) -> dict[str, Any]:
    return {"id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": i, "text": t, "finish_reason": "stop", "logprobs": None}
                        for i, t in enumerate(job.texts)]}


def events(job: Job, model: str) -> Iterator[bytes]:
    """The answer as server-sent events: each choice's text a line at a time, then
    ``[DONE]`` (the text is complete when the stream starts: diffusion does not write left to
    right, so only finished text is streamed)."""
    ident, created = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    for index, text in enumerate(job.texts):
        for piece in text.splitlines(keepends=True) or [""]:
            chunk = {"id": ident, "object": "text_completion", "created": created,
                     "model": model,
                     "choices": [{"index": index, "text": piece, "finish_reason": None}]}
            yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def models(name: str) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": 0,
                                        "owned_by": "code-diffusion"}]}


def _hole(value: Any) -> dict[str, Any]:
    """The ``code_diffusion`` field, checked as the engine checks its options."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("code_diffusion", f"code_diffusion must be an object with fields "
                                           f"among {', '.join(HOLE_FIELDS)}, got {value!r}")
    unknown = sorted(set(value) - set(HOLE_FIELDS))
    if unknown:
        raise BadRequest(f"code_diffusion.{unknown[0]}",
                         f"unknown field(s) code_diffusion.{', '.join(unknown)}; allowed: "
                         f"{', '.join(HOLE_FIELDS)}")
    try:
        SamplerOptions(**value)
    except InvalidRequestError as exc:
        raise BadRequest(f"code_diffusion.{exc.field}", f"code_diffusion.{exc}") from None
    return dict(value)


def _string(body: dict[str, Any], name: str, required: bool = False) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]  # OpenAI allows a one-prompt list
    if not isinstance(value, str):
        raise BadRequest(name, f"{name} must be a string, got {value!r}")
    return value


def _integer(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(name, f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value
