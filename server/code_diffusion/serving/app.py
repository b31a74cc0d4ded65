"""The engine as a Ray Serve application (``code-diffusion serve-ray``).

Routes: ``POST /v1/completions`` (the OpenAI completions shape with ``suffix``, ``n`` and
``stream``), ``GET /v1/models`` and ``GET /health``. Concurrent requests to a replica are
gathered by ``@serve.batch`` and filled together, one forward pass per denoising step for all
of them (:mod:`code_diffusion.serving.batch`). Each replica loads its own copy of the model
(path, device and precision are options); replicas scale between ``min_replicas`` and
``max_replicas`` on ``target_ongoing_requests``.

Needs ``pip install code-diffusion[ray]``; nothing here is imported by the language server.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from code_diffusion.serving import protocol
from code_diffusion.serving.batch import BatchFiller, Job

APP_NAME = "code-diffusion"


@dataclass(frozen=True)
class AppOptions:
    """Everything a deployment of the app is made of."""

    model_path: str | None = None
    """A local model directory; ``None``: the embedded model."""
    device: str = "auto"
    precision: str = "float32"
    trust_remote_code: bool = False
    allow_unsafe_weights: bool = False
    name: str = ""
    """The model name ``/v1/models`` lists (default: the loaded model's own name)."""
    steps: int = 8
    """Denoising steps when a request does not say."""
    min_replicas: int = 1
    max_replicas: int = 1
    target_ongoing_requests: float = 8.0
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_batch_size: int = 8
    """Most requests filled together; 1 turns batching off."""
    batch_wait_ms: float = 10.0
    """How long a replica waits for more requests before it fills a batch."""
    threads: int = 1
    """Intra-op torch threads per replica (``CODE_DIFFUSION_THREADS``)."""
    batch_threads: int = 0
    """Intra-op torch threads of a pass over more than one request (0: ``threads``): a big
    batched pass may use a second core where a single request's small pass would not."""
    cache: bool = True
    """The block cache on the padded path: after a batch's first pass, passes recompute only
    the columns holding a hole (``SamplerOptions.cache``; the engine's default)."""


class CompletionServer:
    """One replica: the model, the batcher and the routes."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = AppOptions(**options)
        os.environ["CODE_DIFFUSION_THREADS"] = str(self.options.threads)
        from code_diffusion.engine.loading import load_model

        model = load_model(self.options.model_path, device=self.options.device,
                           precision=self.options.precision,
                           trust_remote_code=self.options.trust_remote_code,
                           allow_unsafe_weights=self.options.allow_unsafe_weights)
        self.name = self.options.name or model.info.name
        self.filler = BatchFiller(model, cache=self.options.cache,
                                  batch_threads=self.options.batch_threads)
        self.fill.set_max_batch_size(self.options.max_batch_size)
        self.fill.set_batch_wait_timeout_s(self.options.batch_wait_ms / 1000)
        self.served = 0
        self.kinds: dict[str, int] = {}
        """Requests served per hole kind (``none``: the client did not say)."""

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def fill(self, jobs: list[Job]) -> list[Job]:
        # on a thread: the replica's event loop keeps taking requests and health checks
        done = await asyncio.to_thread(self.filler.fill, jobs)
        self.served += len(done)
        for job in done:
            kind = job.hole.get("kind", "none")
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return done

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if request.method == "GET" and path == "/health":
            return JSONResponse({"status": "ok", "model": self.name, "pid": os.getpid(),
                                 "served": self.served, "passes": self.filler.passes,
                                 "sequential": self.filler.sequential, "kinds": self.kinds})
        if request.method == "GET" and path == "/v1/models":
            return JSONResponse(protocol.models(self.name))
        if request.method == "POST" and path == "/v1/completions":
            return await self.completions(request)
        return JSONResponse({"error": {"message": f"no route {request.method} {path}; use "
                                       "POST /v1/completions, GET /v1/models or GET /health",
                                       "type": "not_found"}}, status_code=404)

    async def completions(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(protocol.BadRequest("body", "the body is not JSON").body(),
                                status_code=400)
        model = body.get("model") if isinstance(body, dict) else None
        if model not in (None, "", self.name):
            return JSONResponse({"error": {"message": f"The model `{model}` does not exist; "
                                           f"this server has `{self.name}`",
                                           "type": "not_found", "param": "model"}},
                                status_code=404)
        try:
            job, stream = protocol.parse(body, default_steps=self.options.steps)
        except protocol.BadRequest as exc:
            return JSONResponse(exc.body(), status_code=400)
        done = await self.fill(job)
        if stream:
            return StreamingResponse(protocol.events(done, self.name),
                                     media_type="text/event-stream")
        return JSONResponse(protocol.answer(done, self.name))


def build_app(options: AppOptions) -> Any:
    """The bound Ray Serve application for ``options``."""
    deployment = serve.deployment(
        CompletionServer, name=APP_NAME,
        ray_actor_options={"num_cpus": options.num_cpus, "num_gpus": options.num_gpus},
        autoscaling_config={"min_replicas": options.min_replicas,
                            "max_replicas": options.max_replicas,
                            "target_ongoing_requests": options.target_ongoing_requests},
        max_ongoing_requests=max(16, 4 * options.max_batch_size))
    return deployment.bind(asdict(options))


def run(options: AppOptions, *, host: str = "127.0.0.1", port: int = 8000,
        blocking: bool = False) -> None:
    """Start Serve's HTTP proxy on ``host:port`` and deploy the app (Ray must be running)."""
    check(options)
    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(options), name=APP_NAME, route_prefix="/", blocking=blocking)


def check(options: AppOptions) -> None:
    """Refuse options Ray would reject later with a less clear message."""
    from code_diffusion.engine.errors import InvalidRequestError

    if not 0 <= options.min_replicas <= options.max_replicas or options.max_replicas < 1:
        raise InvalidRequestError(
            "min_replicas", f"replicas must satisfy 0 ≤ min ({options.min_replicas}) ≤ max "
                            f"({options.max_replicas}) and max ≥ 1")
    if options.max_batch_size < 1:
        raise InvalidRequestError("max_batch_size", "max_batch_size must be ≥ 1, got "
                                                    f"{options.max_batch_size}")
    if options.target_ongoing_requests <= 0:
        raise InvalidRequestError("target_ongoing_requests",
                                  "target_ongoing_requests must be above 0, got "
                                  f"{options.target_ongoing_requests}")
