"""Ray tests: a real single-node Ray cluster on 127.0.0.1 with the app of ``serve-ray`` and the
embedded model, and the real language server pointed at it. They leave no Ray process behind."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "lsp"), str(HERE.parents[1] / "unit" / "lsp")]

RAY_DAEMONS = ("raylet", "gcs_server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RayApp:
    """The app on the cluster; :meth:`stop` and :meth:`start` take it down and back up."""

    def __init__(self) -> None:
        from code_diffusion.serving.app import AppOptions

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.options = AppOptions(max_batch_size=8, batch_wait_ms=10.0)

    def start(self) -> float:
        from code_diffusion.serving.app import run

        began = time.perf_counter()
        run(self.options, host="127.0.0.1", port=self.port)
        return time.perf_counter() - began

    def stop(self) -> None:
        from ray import serve

        serve.shutdown()


def ray_daemons() -> list[psutil.Process]:
    """The Ray daemons this test process started (its descendants)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any(name in child.name() for name in RAY_DAEMONS):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture(scope="package")
def ray_app() -> Iterator[RayApp]:
    """One Ray cluster for the package; shut down and checked for leftovers at the end."""
    ray = pytest.importorskip("ray", reason="the ray tests need pip install code-diffusion[ray]")
    os.environ["CODE_DIFFUSION_THREADS"] = "1"
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024**2,
             _node_ip_address="127.0.0.1", log_to_driver=False)
    daemons = ray_daemons()
    assert daemons, "ray.init started no raylet/gcs_server under this process"
    app = RayApp()
    try:
        app.start()
        yield app
    finally:
        try:
            app.stop()
        finally:
            ray.shutdown()
            _, alive = psutil.wait_procs(daemons, timeout=30)
            for process in alive:  # by id, only the ones this test started
                process.kill()
            assert not alive, f"Ray daemons outlived ray.shutdown(): {alive}"
            assert not ray_daemons()
