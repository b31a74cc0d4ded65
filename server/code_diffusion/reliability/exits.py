"""How fast the server goes when its client does, and what it leaves behind.

Three ways a client goes away, each measured while the model is loaded and has requests
queued on five documents:

- ``client-killed``: a separate client process starts the server, gives its own pid as
  ``processId`` and is killed with SIGKILL (the server sees stdin EOF *and* a dead pid);
- ``process-id``: the client process named in ``processId`` dies while the server's stdin stays
  open (only the pid watch can notice);
- ``stdin-eof``: the client closes the server's stdin and stays alive.

Plus ``shutdown`` + ``exit``. Latency runs from the kill (or the close, or ``exit``) to the
server process being gone; child processes the server had are checked to be gone too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import psutil

from code_diffusion.reliability.rpc import SERVE, RawClient

BUSY = {"codeDiffusion": {"debounceMs": 0, "numSamples": 8, "maxLength": 256, "steps": 512}}
DOCS = 5


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(pid: int, timeout: float = 30.0) -> float | None:
    """Seconds until ``pid`` is gone (or a zombie); ``None`` if it outlives ``timeout``."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if _gone(pid):
            return time.perf_counter() - began
        time.sleep(0.002)
    return None


def _children(pid: int) -> list[int]:
    with contextlib.suppress(psutil.Error):
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    return []


def load_and_queue(client: RawClient, options: Any = None) -> None:
    """Wait for the model, then queue one inline completion on each of five documents."""
    client.wait_state("ready", 600)
    for i in range(DOCS):
        uri = f"file:///exit/doc_{i}.py"
        text = f"def work_{i}(values):\n    result = "
        client.open(uri, text)
        client.send({"jsonrpc": "2.0", "id": f"busy-{i}", "method": "textDocument/inlineCompletion",
                     "params": {"textDocument": {"uri": uri},
                                "position": {"line": 1, "character": 13},
                                "context": {"triggerKind": 1}}})
    time.sleep(0.3)


def _client_main(command: list[str]) -> int:
    """Run as the client: start the server, hand its pid to the parent, wait to be killed."""
    client = RawClient(command, configuration=BUSY)
    client.initialize({}, process_id=os.getpid())
    load_and_queue(client)
    print(json.dumps({"server": client.pid, "children": _children(client.pid)}), flush=True)
    time.sleep(600)
    return 0


def client_killed(command: list[str]) -> dict[str, Any]:
    client = subprocess.Popen([sys.executable, "-m", "code_diffusion.reliability.exits",
                               "--as-client", "--", *command], stdout=subprocess.PIPE, text=True)
    try:
        line = client.stdout.readline()
        info = json.loads(line)
        os.kill(client.pid, signal.SIGKILL)
        latency = _wait_gone(info["server"])
        client.wait()
        return {"latency_s": latency, "exit_code": None,
                "orphans": [p for p in info["children"] if not _gone(p)]}
    finally:
        client.kill()


def process_id_dies(command: list[str]) -> dict[str, Any]:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    server = RawClient(command, configuration=BUSY)
    try:
        server.initialize({}, process_id=parent.pid)
        load_and_queue(server)
        children = _children(server.pid)
        parent.kill()
        latency = _wait_gone(server.pid)
        return {"latency_s": latency, "exit_code": server.process.wait(5),
                "orphans": [p for p in children if not _gone(p)]}
    finally:
        parent.kill()
        parent.wait()
        server.close()


def stdin_eof(command: list[str]) -> dict[str, Any]:
    server = RawClient(command, configuration=BUSY)
    try:
        server.initialize({}, process_id=os.getpid())
        load_and_queue(server)
        children = _children(server.pid)
        server.process.stdin.close()
        latency = _wait_gone(server.pid)
        return {"latency_s": latency, "exit_code": server.process.wait(5),
                "orphans": [p for p in children if not _gone(p)]}
    finally:
        server.close()


def shutdown_exit(command: list[str]) -> dict[str, Any]:
    """``shutdown`` with work queued, a request after it (never answered), then ``exit``."""
    server = RawClient(command, configuration=BUSY)
    try:
        server.initialize({}, process_id=os.getpid())
        load_and_queue(server)
        children = _children(server.pid)
        server.result("shutdown", None, 30)
        late = server.new_id()
        server.send({"jsonrpc": "2.0", "id": late, "method": "codeDiffusion/none"})
        server.send({"jsonrpc": "2.0", "id": late + 1000, "method": "workspace/executeCommand",
                     "params": {"command": "codeDiffusion.status"}})
        time.sleep(0.5)
        answered_late = [r for r in (server.responses.get(late), server.responses.get(late + 1000))
                         if r is not None and "result" in r]
        server.notify("exit")
        latency = _wait_gone(server.pid)
        return {"latency_s": latency, "exit_code": server.process.wait(5),
                "answered_after_shutdown": len(answered_late),
                "orphans": [p for p in children if not _gone(p)]}
    finally:
        server.close()


SCENARIOS = {"client-killed": client_killed, "process-id": process_id_dies,
             "stdin-eof": stdin_eof, "shutdown": shutdown_exit}


def measure_exits(repeats: int = 3, command: list[str] | None = None,
                  scenarios: list[str] | None = None) -> dict[str, Any]:
    """Each scenario ``repeats`` times; latencies in milliseconds."""
    figures: dict[str, Any] = {}
    for name in scenarios or list(SCENARIOS):
        runs = [SCENARIOS[name](command or SERVE) for _ in range(repeats)]
        latencies = [r["latency_s"] for r in runs]
        figures[name] = {
            "runs": repeats,
            "latency_ms": [None if s is None else round(s * 1000, 1) for s in latencies],
            "max_latency_ms": (None if None in latencies
                               else round(max(latencies) * 1000, 1)),
            "exit_codes": [r["exit_code"] for r in runs],
            "orphans": sum(len(r["orphans"]) for r in runs),
            **({"answered_after_shutdown": sum(r["answered_after_shutdown"] for r in runs)}
               if name == "shutdown" else {}),
        }
    return figures


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--as-client":
        sys.exit(_client_main(sys.argv[3:] if sys.argv[2] == "--" else sys.argv[2:]))
    print(json.dumps(measure_exits(), indent=1))
