"""The ``remote`` backend: a :class:`CodeGenerationModel` that asks a server over HTTP.

It speaks the OpenAI completions shape used for infilling: ``prompt`` (the prefix, after the
specification as comment lines), ``suffix``, ``max_tokens``, ``temperature``, ``n``, ``stop``,
``stream`` (server-sent events), and reads ``choices[].text``. Inception's Mercury
(``/v1/fim/completions``), SGLang and vLLM (``/v1/completions``) and ``code-diffusion
serve-ray`` answer it. The diffusion extras (``steps``, ``block_length``, ``threshold``) are sent
only when configured.

It takes the :class:`~code_diffusion.engine.options.SamplerOptions` like every adapter, and
honours or refuses each field. The ``preamble`` (snippets from the file and the workspace, which
context assembly computes locally) goes into the prompt ahead of the specification and the
prefix. The hole's shape (``kind``, ``healed_break``, ``span_chars``, ``canvas_length``,
``length_control``) goes, with the preamble, in the field ``code_diffusion`` to a server that
lists its models as owned by ``code-diffusion`` (``serve-ray``, asked once on ``/v1/models``),
which lays out the canvas the local engine would; other servers get nothing beyond the
completions shape, and a canvas rule they cannot follow (a forced canvas length, no length
control) is refused. The sampler's own settings (policy, threshold, top-p, cache, window) are
the server's: set away from their defaults they are refused.

``sample`` yields a step for every streamed chunk, and a step without news every ``POLL``
seconds while it waits: the caller checks its ``should_stop`` between steps and closes the
iterator, which aborts the HTTP request. Every failure is a :class:`RemoteBackendError` that
says what happened and what to do; nothing falls back to a local model.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from code_diffusion.engine.adapters.remote_errors import (
    RemoteAuthError,
    RemoteBackendError,
    RemoteBusy,
    RemoteInfillUnsupported,
    RemoteNotFound,
    RemoteProtocolError,
    RemoteServerError,
    RemoteTimeout,
    RemoteUnavailable,
    server_message,
)
from code_diffusion.engine.adapters.remote_http import Event, Exchange, owned_by, retry_after
from code_diffusion.engine.errors import UnsupportedParameterError
from code_diffusion.engine.interface import ModelAdapter, ModelInfo, SampleStep
from code_diffusion.engine.options import SamplerOptions
from code_diffusion.engine.types import Candidate, GenerationRequest, PartialCode

POLL = 0.05
"""Seconds between two checks of the caller's ``should_stop`` while waiting for the server."""
SUPPORTED = ("specification", "language", "partial_code", "max_length", "num_samples",
             "temperature", "seed", "batch_size", "use_rewards", "steps")
"""Parameters this backend honours or that do not change the answer (``batch_size`` is the
server's business, ``use_rewards`` runs locally, ``steps`` is ``codeDiffusion.remote.steps``)."""
__all__ = ["RemoteAuthError", "RemoteBackendError", "RemoteBusy", "RemoteInfillUnsupported",
           "RemoteModel", "RemoteNotFound", "RemoteOptions", "RemoteProtocolError",
           "RemoteServerError", "RemoteTimeout", "RemoteUnavailable"]
REFUSED_AWAY_FROM_DEFAULT = ("guidance_scale", "num_iterations", "precision", "device")
OWNER = "code-diffusion"
"""``owned_by`` of the models ``serve-ray`` lists: such a server takes ``code_diffusion``."""
CANVAS_RULES = ("canvas_length", "length_control")
"""Sampler options only a ``serve-ray`` server can follow (the advisory ones go to it too)."""


@dataclass(frozen=True)
class RemoteOptions:
    """Where the server is and how to talk to it (``codeDiffusion.remote.*``)."""

    url: str
    model: str = ""
    path: str = "/v1/completions"
    api_key_env: str = ""
    """The name of the environment variable holding the API key (never the key itself)."""
    timeout_ms: int = 30_000
    retries: int = 2
    stream: bool = True
    allow_prefix_only: bool = False
    steps: int = 0
    """Diffusion extras: sent only when above 0."""
    block_length: int = 0
    threshold: float = 0.0
    stop: tuple[str, ...] = ()

    def check(self) -> None:
        """Refuse settings that cannot work, before any request."""
        if not self.url.startswith(("http://", "https://")):
            raise RemoteBackendError(
                f"codeDiffusion.remote.url is {self.url!r}; set it to the server's address, "
                "e.g. http://127.0.0.1:8000")
        if not self.path.startswith("/"):
            raise RemoteBackendError(f"codeDiffusion.remote.path is {self.path!r}; it must "
                                     "start with /, e.g. /v1/completions")
        if self.api_key_env and not os.environ.get(self.api_key_env):
            raise RemoteBackendError(
                f"the environment variable {self.api_key_env} named by "
                "codeDiffusion.remote.apiKeyEnv is not set; export the API key in it before "
                "starting the editor")

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + self.path


class RemoteModel(ModelAdapter):
    """A :class:`~code_diffusion.engine.interface.CodeGenerationModel` served over HTTP."""

    accepts_preamble = True
    """The snippets go ahead of the prompt (or to serve-ray in ``code_diffusion``)."""

    def __init__(self, options: RemoteOptions) -> None:
        options.check()
        self.options = options
        self.prefix_only = False
        """Set once the server refused ``suffix`` and the user allows prefix-only prompts."""
        self.own_server: bool | None = None
        """Whether the server is ``serve-ray`` (takes ``code_diffusion``); ``None``: not asked
        yet (asked again after the server could not be reached)."""
        self.info = ModelInfo(name=options.model or options.url, family="remote",
                              device=options.url, precision="remote", path=options.endpoint,
                              supported=SUPPORTED,
                              extra={"backend": "remote", "stream": options.stream})

    def stream(self, request: GenerationRequest,
               options: SamplerOptions) -> Iterator[SampleStep]:
        """Yield a step per streamed chunk (and one per ``POLL`` while waiting); the last step
        carries exactly ``num_samples`` candidates. Closing the iterator aborts the request."""
        self._check_parameters(request)
        return self._run(request, options)

    def _run(self, request: GenerationRequest,
             options: SamplerOptions) -> Iterator[SampleStep]:
        own = yield from self._own_server()
        options.refuse_unsupported(self.info.name, ("preamble", *(CANVAS_RULES if own else ())))
        body = self.body(request, options)
        attempt = 0
        while True:
            outcome = yield from self._exchange(body, request.num_samples)
            if isinstance(outcome, list):
                yield SampleStep(step=1, texts=tuple(outcome), masked=(0,) * len(outcome),
                                 forward_passes=0,
                                 candidates=tuple(Candidate(text=t) for t in outcome))
                return
            status, headers, text = outcome
            if status == 400 and "suffix" in text.lower() and "suffix" in body:
                if not self.options.allow_prefix_only:
                    raise RemoteInfillUnsupported(
                        f"the remote server at {self.options.endpoint} cannot infill (it refused "
                        "the suffix); point codeDiffusion.remote at a server that can, or turn "
                        "on codeDiffusion.remote.allowPrefixOnly to send the prefix alone")
                self.prefix_only = True  # the body has no suffix now: this happens once
                body = {k: v for k, v in body.items() if k != "suffix"}
                continue
            if status in (429, 503) and attempt < self.options.retries:
                yield from self._wait(retry_after(headers, attempt))
                attempt += 1
                continue
            raise self._http_error(status, text, attempt)

    def _own_server(self):
        """Whether the server is ``serve-ray``: its ``/v1/models`` lists models owned by
        ``code-diffusion``. A listing (HTTP 200) is kept; without one (an error status, no such
        route, an app still deploying) this request goes in the plain completions shape and
        the next one asks again."""
        if self.own_server is None:
            exchange = Exchange(self.options.url, "/v1/models", None, self._headers(json=False),
                                timeout=self.options.timeout_ms / 1000, stream=False,
                                method="GET")
            try:
                exchange.start()
                while (event := exchange.next(POLL)) is None:
                    yield SampleStep(step=0, texts=(), masked=(), forward_passes=0)
            finally:
                exchange.abort()
            if event.kind == "error":
                raise self._transport_error(event)
            if event.kind == "body":
                self.own_server = owned_by(event.data) == {OWNER}
            return bool(self.own_server)
        return self.own_server

    # -- the request -----------------------------------------------------------------------------

    def body(self, request: GenerationRequest,
             options: SamplerOptions | None = None) -> dict[str, Any]:
        """The JSON body of ``request`` (without ``stream``, added when sent)."""
        options = options or SamplerOptions()
        code = request.partial_code or PartialCode()
        prompt = _comment_block(request.specification, request.language) + code.prefix
        if not self.own_server:
            prompt = options.preamble + prompt
        body: dict[str, Any] = {"prompt": prompt, "max_tokens": request.max_length,
                                "temperature": request.temperature, "n": request.num_samples}
        if self.options.model:
            body["model"] = self.options.model
        if code.suffix and not self.prefix_only:
            body["suffix"] = code.suffix
        if request.seed is not None:
            body["seed"] = request.seed
        if self.options.stop:
            body["stop"] = list(self.options.stop)
        extras = {"steps": self.options.steps, "block_length": self.options.block_length,
                  "threshold": self.options.threshold}
        body.update({key: value for key, value in extras.items() if value})
        if self.own_server:
            body["code_diffusion"] = _hole(options)
        return body

    def _check_parameters(self, request: GenerationRequest) -> None:
        defaults = GenerationRequest.defaults()
        for name in REFUSED_AWAY_FROM_DEFAULT:
            if getattr(request, name) != defaults[name]:
                raise UnsupportedParameterError(self.info.name, name, SUPPORTED)

    def _headers(self, json: bool = True) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if not json:
            del headers["Content-Type"]
        elif self.options.stream:
            headers["Accept"] = "text/event-stream"
        if self.options.api_key_env:
            headers["Authorization"] = f"Bearer {os.environ.get(self.options.api_key_env, '')}"
        return headers

    def _exchange(self, body: dict[str, Any], count: int):
        """Send ``body``; yield waiting/progress steps; return the texts, or ``(status,
        headers, text)`` for an HTTP error."""
        payload = json.dumps({**body, "stream": self.options.stream}).encode()
        try:
            exchange = Exchange(self.options.url, self.options.path, payload, self._headers(),
                                timeout=self.options.timeout_ms / 1000,
                                stream=self.options.stream).start()
        except ValueError as exc:
            raise RemoteBackendError(f"codeDiffusion.remote.url: {exc}; set it to the "
                                     "server's address, e.g. http://127.0.0.1:8000") from exc
        texts = [""] * count
        chunks = data_events = 0
        try:
            while True:
                event = exchange.next(POLL)
                if event is None:
                    yield SampleStep(step=chunks, texts=tuple(texts), masked=(0,) * count,
                                     forward_passes=chunks)
                    continue
                if event.kind == "status":
                    return event.status, event.headers or {}, event.data.decode(errors="replace")
                if event.kind == "error":
                    raise self._transport_error(event)
                if event.kind == "body":
                    return self._parse_body(event.data, count)
                if event.kind == "end":
                    if not data_events:
                        raise self._malformed("an event stream without data")
                    return texts
                data_events += event.data.startswith(b"data:")
                if self._add_chunk(event.data, texts):
                    chunks += 1
                    yield SampleStep(step=chunks, texts=tuple(texts), masked=(0,) * count,
                                     forward_passes=chunks)
        finally:
            exchange.abort()

    def _wait(self, seconds: float) -> Iterator[SampleStep]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
            yield SampleStep(step=0, texts=(), masked=(), forward_passes=0)

    # -- the answer ------------------------------------------------------------------------------

    def _parse_body(self, data: bytes, count: int) -> list[str]:
        answer = self._json(data)
        return self._texts(answer, count)

    def _add_chunk(self, line: bytes, texts: list[str]) -> bool:
        """Add one server-sent event line to ``texts``; ``True`` when it carried text."""
        line = line.strip()
        if not line.startswith(b"data:"):
            return False  # blank separators, comments, event names
        data = line[5:].strip()
        if data == b"[DONE]":
            return False
        changed = False
        for choice in self._choices(self._json(data)):
            index = choice.get("index", 0)
            if not isinstance(index, int) or not 0 <= index < len(texts):
                raise self._malformed(f"a choice index {index!r} outside 0..{len(texts) - 1}")
            texts[index] += self._text_of(choice)
            changed = True
        return changed

    def _texts(self, answer: Any, count: int) -> list[str]:
        choices = self._choices(answer)
        texts = [""] * count
        for position, choice in enumerate(choices):
            index = choice.get("index", position)
            if not isinstance(index, int) or not 0 <= index < count:
                raise self._malformed(f"a choice index {index!r} outside 0..{count - 1}")
            texts[index] = self._text_of(choice)
        if len(choices) != count:
            raise self._malformed(f"{len(choices)} choices for n={count}")
        return texts

    def _json(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            raise self._malformed(f"not JSON: {data[:80]!r}") from None

    def _choices(self, answer: Any) -> list[dict[str, Any]]:
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise self._malformed(f"no 'choices' list in {json.dumps(answer)[:80]}")
        return choices

    def _text_of(self, choice: dict[str, Any]) -> str:
        text = choice.get("text")
        if not isinstance(text, str):
            raise self._malformed(f"a choice without a 'text' string: {json.dumps(choice)[:80]}")
        return text

    # -- errors ----------------------------------------------------------------------------------

    def _malformed(self, what: str) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"the remote backend at {self.options.endpoint} sent an answer that is not the "
            f"completions shape ({what}); check that codeDiffusion.remote.path names an "
            "OpenAI-style completions endpoint")

    def _transport_error(self, event: Event) -> RemoteBackendError:
        error = event.error
        where = self.options.endpoint
        if isinstance(error, TimeoutError):
            return RemoteTimeout(
                f"the remote backend at {where} did not answer within "
                f"{self.options.timeout_ms} ms; raise codeDiffusion.remote.timeoutMs or check "
                "the server's load")
        if isinstance(error, OSError):
            return RemoteUnavailable(
                f"remote backend unreachable at {self.options.url} ({error}); start the server "
                "or fix codeDiffusion.remote.url")
        return RemoteProtocolError(
            f"the remote backend at {where} broke the HTTP exchange "
            f"({type(error).__name__}: {error}); check that the URL is an HTTP completions "
            "server")

    def _http_error(self, status: int, text: str, attempt: int) -> RemoteBackendError:
        where, detail = self.options.endpoint, server_message(text)
        if status in (401, 403):
            key = self.options.api_key_env or "(none set)"
            return RemoteAuthError(
                f"the remote backend at {where} refused the credentials (HTTP {status}: "
                f"{detail}); put a valid API key in the environment variable named by "
                f"codeDiffusion.remote.apiKeyEnv ({key})")
        if status == 404 and "model" in text.lower():
            return RemoteNotFound(
                f"the remote backend at {where} has no model {self.options.model!r} (HTTP 404: "
                f"{detail}); set codeDiffusion.remote.model to a name its /v1/models lists")
        if status == 404:
            return RemoteNotFound(
                f"the remote backend has no endpoint {where} (HTTP 404); fix "
                "codeDiffusion.remote.path (/v1/completions or /v1/fim/completions)")
        if status in (429, 503):
            return RemoteBusy(
                f"the remote backend at {where} is busy (HTTP {status}) after {attempt} "
                "retries; try again later or raise codeDiffusion.remote.retries")
        return RemoteServerError(f"the remote backend at {where} failed (HTTP {status}: "
                                 f"{detail}); see the server's log")


def _comment_block(specification: str, language: str | None) -> str:
    if not specification:
        return ""
    from code_diffusion.engine.languages import comment_block

    return comment_block(specification, language)


def _hole(options: SamplerOptions) -> dict[str, Any]:
    """The ``code_diffusion`` field: the hole's shape, only what differs from the defaults
    (the kind always)."""
    hole: dict[str, Any] = {"kind": options.kind}
    for name in ("healed_break", "span_chars", "canvas_length", "length_control", "preamble"):
        value = getattr(options, name)
        if value != getattr(SamplerOptions, name):
            hole[name] = value
    return hole
