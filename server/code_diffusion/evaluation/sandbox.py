"""Run an untrusted Python program (a model's completion plus its unit tests) in a child process.

The child runs ``python -I`` (isolated: no user site, no ``PYTHON*`` variables, no script dir
on ``sys.path``) in a fresh temporary working directory with a minimal environment, in its own
process group so that a timeout kills everything it started. Before the program runs, a small
runner sets resource limits (CPU time, address space, file size, no core dumps) and disables
networking and process control: ``socket.socket`` and its relatives raise ``OSError``, and so do
``os.system``, ``os.fork``, ``os.kill`` and ``subprocess.Popen``. Where the kernel allows an
unprivileged network namespace (``unshare -rn``), the child also runs in one with no interfaces.

A program passes when it runs to the end and exits with status 0. The runner proves it got to
the end by writing a per-run random token to a file, so ``sys.exit(0)`` or ``os._exit(0)`` in a
completion does not count as a pass.

This is a guard against accidents (a completion that loops, allocates without bound or opens a
connection), not a security boundary against a hostile author.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT = 10.0
MEMORY_LIMIT_BYTES = 2 * 1024**3
FILE_SIZE_LIMIT_BYTES = 16 * 1024**2

_RUNNER = r'''
import os, resource, runpy, socket, subprocess, sys, _socket

_LIMITS = {limits!r}
for _name, _value in _LIMITS.items():
    try:
        resource.setrlimit(getattr(resource, _name), (_value, _value))
    except (ValueError, OSError):
        pass


def _refuse(*args, **kwargs):
    raise OSError("disabled in the evaluation sandbox")


class _NoSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        raise OSError("network access is disabled in the evaluation sandbox")


socket.socket = _NoSocket
socket.SocketType = _NoSocket
_socket.socket = _NoSocket
for _name in ("create_connection", "create_server", "socketpair", "fromfd",
              "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
    setattr(socket, _name, _refuse)
for _name in ("socketpair", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
              "gethostbyaddr"):
    if hasattr(_socket, _name):
        setattr(_socket, _name, _refuse)
for _name in ("system", "popen", "fork", "forkpty", "kill", "killpg", "execv", "execve",
              "execvp", "execvpe", "spawnv", "spawnve", "posix_spawn", "posix_spawnp"):
    if hasattr(os, _name):
        setattr(os, _name, _refuse)
subprocess.Popen = _refuse

_program = sys.argv[1]
sys.argv = [_program]
runpy.run_path(_program, run_name="__main__")
with open({done_file!r}, "w") as _done:
    _done.write({token!r})
'''


@dataclass(frozen=True)
class ExecutionResult:
    """How one program ended."""

    status: str
    """``passed``, ``failed`` (an exception, a failed assertion, a syntax error, a non-zero exit
    or an early exit) or ``timeout``."""
    detail: str = ""
    """The last line of the program's stderr (e.g. ``AssertionError``), or why it failed."""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@functools.cache
def network_namespace_available() -> bool:
    """True when ``unshare -rn`` can put a child in an empty network namespace here."""
    exe = shutil.which("unshare")
    if exe is None:
        return False
    try:
        done = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def isolation_summary() -> str:
    """One line describing the sandbox, for reports."""
    layers = ["python -I in a temp dir", "sockets and process control disabled",
              "CPU/memory/file-size limits"]
    if network_namespace_available():
        layers.append("empty network namespace")
    return ", ".join(layers)


def run_program(source: str, timeout: float = DEFAULT_TIMEOUT) -> ExecutionResult:
    """Execute ``source`` in the sandbox and report whether it ran to the end successfully."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cd-eval-") as tmp:
        work = Path(tmp)
        program = work / "program.py"
        program.write_text(source, encoding="utf-8")
        token = secrets.token_hex(16)
        done_file = work / ".done"
        limits = {
            "RLIMIT_CPU": int(timeout) + 2,
            "RLIMIT_AS": MEMORY_LIMIT_BYTES,
            "RLIMIT_FSIZE": FILE_SIZE_LIMIT_BYTES,
            "RLIMIT_CORE": 0,
        }
        runner = work / ".runner.py"
        runner.write_text(_RUNNER.format(limits=limits, done_file=str(done_file), token=token),
                          encoding="utf-8")
        command = [sys.executable, "-I", "-B", str(runner), str(program)]
        if network_namespace_available():
            command = [shutil.which("unshare") or "unshare", "-rn", *command]
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": tmp,
               "TMPDIR": tmp, "PYTHONHASHSEED": "0"}
        stderr_path = work / ".stderr"
        with open(stderr_path, "wb") as stderr, open(os.devnull, "wb") as devnull:
            proc = subprocess.Popen(command, cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                    stdout=devnull, stderr=stderr, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return ExecutionResult("timeout", f"no result after {timeout:g} s",
                                       time.perf_counter() - started)
            finally:
                _kill_group(proc)
        seconds = time.perf_counter() - started
        finished = done_file.exists() and done_file.read_text() == token
        if code == 0 and finished:
            return ExecutionResult("passed", "", seconds)
        detail = _last_line(stderr_path)
        if not detail:
            detail = (f"exit status {code}" if code != 0
                      else "the program exited before its tests finished")
        return ExecutionResult("failed", detail, seconds)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _last_line(path: Path, limit: int = 4096) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def run_programs(sources: Iterable[str], timeout: float = DEFAULT_TIMEOUT,
                 workers: int = 2) -> Iterator[ExecutionResult]:
    """Run many programs, ``workers`` at a time, yielding results in input order.

    Identical programs run once.
    """
    sources = list(sources)
    unique = list(dict.fromkeys(sources))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip(unique, pool.map(lambda s: run_program(s, timeout), unique),
                           strict=True))
    for source in sources:
        yield results[source]
