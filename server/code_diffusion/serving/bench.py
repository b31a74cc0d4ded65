"""Figures of ``serve-ray`` on this machine: cold start, batched against unbatched throughput,
and the round trip of a line through the remote backend against the local engine.

Run once: ``CODE_DIFFUSION_THREADS=1 python -m code_diffusion.serving.bench [--json PATH]``.
It starts a single-node Ray cluster on 127.0.0.1 and shuts it down at the end.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
from dataclasses import replace
from typing import Any

from code_diffusion.engine.adapters.remote import RemoteModel, RemoteOptions

LINES = [
    ("def add(a, b):\n    return", "\n"),
    ("import os\n\npath = os.path.join(", ")\n"),
    ("for i in range(10):\n    print(", ")\n"),
    ("numbers = [1, 2, 3]\ntotal = sum(", ")\n"),
    ("class Point:\n    def __init__(self, x, y):\n        self.x =", "\n        self.y = y\n"),
    ("with open(path) as handle:\n    text =", "\n"),
    ("def is_even(n):\n    return n %", "\n"),
    ("names = ['a', 'b']\nfor name in", ":\n    print(name)\n"),
]
BODY = {"max_tokens": 48, "n": 3, "temperature": 0.0, "steps": 8,
        "code_diffusion": {"kind": "line"}}
"""The language server's shipped defaults for a line: 3 candidates, 8 steps, 48 tokens, and
the hole's kind as the remote backend sends it to serve-ray (a 24-slot line canvas)."""


def _post(url: str, prompt: str, suffix: str) -> float:
    import urllib.request

    data = json.dumps({**BODY, "prompt": prompt, "suffix": suffix}).encode()
    request = urllib.request.Request(url + "/v1/completions", data,
                                     {"Content-Type": "application/json"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as answer:
        json.loads(answer.read())
    return (time.perf_counter() - began) * 1000


def throughput(url: str, clients: int = 8, per_client: int = 5) -> dict[str, float]:
    """``clients`` threads, each sending ``per_client`` requests one after the other."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for round_ in range(per_client):
            prompt, suffix = LINES[(index + round_) % len(LINES)]
            ms = _post(url, prompt, suffix)
            with lock:
                latencies.append(ms)

    for prompt, suffix in LINES[:2]:
        _post(url, prompt, suffix)  # warm up
    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {"requests": len(ordered), "requests_per_s": len(ordered) / elapsed,
            "p50_ms": statistics.median(ordered),
            "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]}


def round_trip(url: str, repeats: int = 15) -> dict[str, float]:
    """Median ms of one line through ``CodeGenerator.fill``: local engine vs remote backend."""
    from code_diffusion.engine.generator import CodeGenerator
    from code_diffusion.engine.loading import load_model

    text = "def add(a, b):\n    return \n"
    cursor = text.index("return ") + len("return ")
    params = {"num_samples": 3, "steps": 8, "max_length": 48}
    local = CodeGenerator(load_model(None))
    remote = CodeGenerator(RemoteModel(RemoteOptions(url=url, stream=False)))
    out = {}
    for name, generator in (("local", local), ("remote", remote)):
        times = []
        for _ in range(repeats + 2):
            began = time.perf_counter()
            generator.fill(text, cursor, require_passing=False, **params)
            times.append((time.perf_counter() - began) * 1000)
        out[f"{name}_ms"] = statistics.median(times[2:])
    out["overhead_ms"] = out["remote_ms"] - out["local_ms"]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    parser.add_argument("--per-client", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per replica")
    parser.add_argument("--batch-threads", type=int, default=0,
                        help="torch threads of a pass over several requests (0: --threads)")
    args = parser.parse_args(argv)
    import ray
    from ray import serve

    from code_diffusion.serving.app import AppOptions, run

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {}
    began = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024**2,
             _node_ip_address="127.0.0.1", log_to_driver=False)
    figures["ray_init_s"] = time.perf_counter() - began
    try:
        options = AppOptions(max_batch_size=8, batch_wait_ms=10.0, threads=args.threads,
                             batch_threads=args.batch_threads,
                             num_cpus=min(2.0, float(max(args.threads, args.batch_threads))))
        deployed = time.perf_counter()
        run(options, port=port)
        figures["app_deploy_s"] = time.perf_counter() - deployed
        figures["cold_start_s"] = time.perf_counter() - began
        figures["batched"] = throughput(url, per_client=args.per_client)
        figures["round_trip"] = round_trip(url)
        run(replace(options, max_batch_size=1), port=port)
        figures["unbatched"] = throughput(url, per_client=args.per_client)
        figures["speedup"] = (figures["batched"]["requests_per_s"]
                              / figures["unbatched"]["requests_per_s"])
    finally:
        serve.shutdown()
        ray.shutdown()
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    return figures


if __name__ == "__main__":
    main()
