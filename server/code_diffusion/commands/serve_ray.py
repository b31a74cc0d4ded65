"""``code-diffusion serve-ray``: the engine as a Ray Serve application over HTTP.

Serves ``POST /v1/completions`` (OpenAI's completions shape, with ``suffix``), ``GET /v1/models``
and ``GET /health`` on ``--host:--port`` (127.0.0.1 by default). Editors reach it with
``codeDiffusion.backend: remote`` and ``codeDiffusion.remote.url``. Without ``--address`` a
single-node Ray cluster is started in this process; with one, the app is deployed on that
cluster (``ray start --head`` first; see docs/scale-out.md). Needs
``pip install code-diffusion[ray]``.
"""

from __future__ import annotations

import argparse
import sys

from code_diffusion.commands._model_args import add_model_arguments

HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve-ray", help="serve the engine over HTTP on Ray Serve (batched, autoscaled)",
        description="Serve /v1/completions, /v1/models and /health with Ray Serve. Requests "
                    "that arrive together are filled in one batched forward pass.")
    add_model_arguments(parser)
    parser.add_argument("--address", default=None,
                        help="a running Ray cluster (e.g. 10.0.0.5:6379 or auto); default: "
                             "start a local one")
    parser.add_argument("--host", default=HOST,
                        help=f"address the HTTP proxy binds (default {HOST}; 0.0.0.0 to "
                             "serve other machines)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"HTTP port (default {DEFAULT_PORT})")
    parser.add_argument("--name", default="", help="model name /v1/models lists "
                                                   "(default: the model's own)")
    group = parser.add_argument_group("replicas")
    group.add_argument("--min-replicas", type=int, default=1)
    group.add_argument("--max-replicas", type=int, default=1)
    group.add_argument("--target-ongoing-requests", type=float, default=8.0,
                       help="requests per replica the autoscaler aims for (default 8)")
    group.add_argument("--num-cpus", type=float, default=1.0, help="CPUs per replica")
    group.add_argument("--num-gpus", type=float, default=0.0, help="GPUs per replica")
    group.add_argument("--threads", type=int, default=1,
                       help="torch threads per replica (default 1)")
    group.add_argument("--batch-threads", type=int, default=0,
                       help="torch threads of a pass over several requests (default: --threads)")
    group = parser.add_argument_group("batching")
    group.add_argument("--max-batch-size", type=int, default=8,
                       help="most requests filled together (1: no batching; default 8)")
    group.add_argument("--batch-wait-ms", type=float, default=10.0,
                       help="how long to wait for more requests before filling (default 10)")
    group.add_argument("--steps", type=int, default=8,
                       help="denoising steps when a request does not say (default 8)")
    group.add_argument("--no-cache", dest="cache", action="store_false",
                       help="run every pass over the whole window (default: the block cache, "
                            "as the local engine)")
    return parser


def options_from(args: argparse.Namespace):
    from code_diffusion.serving.app import AppOptions

    return AppOptions(model_path=args.model, device=args.device, precision=args.precision,
                      trust_remote_code=args.trust_remote_code,
                      allow_unsafe_weights=args.allow_unsafe_weights, name=args.name,
                      steps=args.steps, min_replicas=args.min_replicas,
                      max_replicas=args.max_replicas,
                      target_ongoing_requests=args.target_ongoing_requests,
                      num_cpus=args.num_cpus, num_gpus=args.num_gpus,
                      max_batch_size=args.max_batch_size, batch_wait_ms=args.batch_wait_ms,
                      threads=args.threads, batch_threads=args.batch_threads,
                      cache=args.cache)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port <= 65535:
        print(f"code-diffusion serve-ray: error: --port must be 1 to 65535, got {args.port}",
              file=sys.stderr)
        return 2
    try:
        import ray

        from code_diffusion.serving import app
    except ImportError as exc:
        print(f"code-diffusion serve-ray: error: Ray Serve is not installed ({exc}); run "
              "pip install 'code-diffusion[ray]'", file=sys.stderr)
        return 2
    options = options_from(args)
    app.check(options)
    _stop_on_signals()
    try:
        if args.address:
            ray.init(address=args.address)
        else:
            ray.init(include_dashboard=False)
        app.run(options, host=args.host, port=args.port)
        print(f"code-diffusion serve-ray: serving http://{args.host}:{args.port}/v1/completions "
              "(Ctrl-C stops)", file=sys.stderr)
        _wait()
    except KeyboardInterrupt:
        pass  # the way to stop it
    finally:
        if ray.is_initialized():
            from ray import serve

            if args.address:  # a shared cluster: remove this app only
                serve.delete(app.APP_NAME)
            else:
                serve.shutdown()
            ray.shutdown()
    return 0


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both end :func:`_wait`, so the app and the local Ray shut down
    cleanly (a shell starting the command in the background leaves SIGINT ignored)."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _wait() -> None:
    import threading

    threading.Event().wait()
