"""A raw JSON-RPC client over a server's stdio: it sends any bytes, even malformed ones.

The typed LSP clients refuse to serialize hostile values (a negative line, a string where a
number goes); this one writes frames by hand, answers the server's own requests
(``workspace/configuration`` with the given settings, everything else with ``null``) and
keeps every notification the server sends. It is synchronous and thread-safe: a reader thread
parses frames, a second one drains stderr (keeping its tail and counting tracebacks).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

SERVE = [sys.executable, "-m", "code_diffusion", "serve"]
PROBE = [sys.executable, "-m", "code_diffusion.reliability.probe"]


class ServerGone(RuntimeError):
    """The server process ended while a response was awaited."""


def frame(payload: Any) -> bytes:
    """One message with its ``Content-Length`` header (``payload`` may already be bytes)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawClient:
    """One server process and the messages it sent."""

    def __init__(self, command: list[str] | None = None, *, env: dict[str, str] | None = None,
                 configuration: dict[str, Any] | None = None, cwd: str | None = None) -> None:
        self.configuration = configuration or {}
        self.process = subprocess.Popen(
            command or SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={**os.environ, **(env or {})}, cwd=cwd)
        self.pid = self.process.pid
        self.notifications: list[dict[str, Any]] = []
        self.responses: dict[Any, dict[str, Any]] = {}
        self.unmatched: list[dict[str, Any]] = []
        """Responses to ids this client never sent, and undecodable frames."""
        self.stderr_tail: deque[str] = deque(maxlen=200)
        self.tracebacks = 0
        self._next_id = 0
        self._write_lock = threading.Lock()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="rpc-reader", daemon=True)
        self._reader.start()
        threading.Thread(target=self._drain_stderr, name="rpc-stderr", daemon=True).start()

    # -- sending --------------------------------------------------------------------------------

    def send(self, payload: Any) -> None:
        """Write one frame (a dict, or the exact body bytes)."""
        self.send_bytes(frame(payload))

    def send_bytes(self, data: bytes) -> None:
        with self._write_lock:
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def new_id(self) -> int:
        with self._write_lock:
            self._next_id += 1
            return self._next_id

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def request(self, method: str, params: Any = None, timeout: float = 60.0) -> dict[str, Any]:
        """Send a request and return its whole response (``result`` or ``error``)."""
        msg_id = self.new_id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.response(msg_id, timeout)

    def response(self, msg_id: Any, timeout: float = 60.0) -> dict[str, Any]:
        return self.wait_for(lambda: self.responses.pop(msg_id, None), timeout,
                             f"the response to request {msg_id}")

    def result(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        """The ``result`` of a request; an ``AssertionError`` naming the error otherwise."""
        answer = self.request(method, params, timeout)
        assert "error" not in answer, f"{method} failed: {answer['error']}"
        return answer.get("result")

    # -- waiting --------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise ServerGone(f"the server exited ({self.process.returncode}) before "
                                     f"{what}; stderr: {self.stderr()[-2000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for {what}")
                self._changed.wait(min(left, 0.2))

    def statuses(self) -> list[dict[str, Any]]:
        return self.messages("codeDiffusion/status")

    def wait_state(self, state: str, timeout: float = 300.0, after: int = 0) -> dict[str, Any]:
        """The first status ``state`` among the statuses from index ``after`` on."""
        def found() -> dict[str, Any] | None:
            return next((s for s in self.statuses()[after:] if s["state"] == state), None)

        return self.wait_for(found, timeout, f"status {state!r}")

    def messages(self, method: str) -> list[dict[str, Any]]:
        return [m["params"] for m in self.notifications if m.get("method") == method]

    def stderr(self) -> str:
        return "".join(self.stderr_tail)

    # -- lifecycle ------------------------------------------------------------------------------

    def initialize(self, options: Any = None, *, process_id: int | None = None,
                   capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        """``initialize`` + ``initialized``; returns the ``InitializeResult``."""
        caps = capabilities if capabilities is not None else {
            "workspace": {"configuration": True, "workspaceEdit": {"documentChanges": True},
                          "applyEdit": True},
            "window": {"workDoneProgress": True}}
        result = self.result("initialize", {"processId": process_id, "capabilities": caps,
                                            "initializationOptions": options,
                                            "clientInfo": {"name": "reliability"}})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, language: str | None = "python",
             version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": language, "version": version, "text": text}})

    def replace(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})

    def inline(self, uri: str, line: int, character: int, timeout: float = 120.0
               ) -> dict[str, Any]:
        return self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1}}, timeout)

    def shutdown(self, timeout: float = 30.0) -> int | None:
        """``shutdown`` + ``exit``; the exit code (``None`` if it did not exit in time)."""
        with contextlib.suppress(Exception):
            self.request("shutdown", None, timeout)
            self.notify("exit")
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """End the process: stdin EOF, then kill if it does not go."""
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- threads --------------------------------------------------------------------------------

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self._wake()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            body = stream.read(length)
            try:
                message = json.loads(body)
            except ValueError:
                self.unmatched.append({"undecodable": body[:200].decode("utf-8", "replace")})
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # a request from the server
            self._answer(message)
        elif "method" in message:
            with self._changed:
                self.notifications.append(message)
                self._changed.notify_all()
        else:
            with self._changed:
                msg_id = message.get("id")
                if not isinstance(msg_id, int | str) or msg_id in self.responses:
                    self.unmatched.append(message)
                else:
                    self.responses[message["id"]] = message
                self._changed.notify_all()

    def _answer(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/configuration":
            items = (message.get("params") or {}).get("items") or []
            result = [self.configuration.get(i.get("section"), self.configuration)
                      if i.get("section") else self.configuration for i in items]
        elif message["method"] == "workspace/applyEdit":
            with self._changed:
                self.notifications.append(message)
            result = {"applied": False, "failureReason": "the raw client applies nothing"}
        with contextlib.suppress(OSError, ValueError):
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _drain_stderr(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace")
            if line.startswith("Traceback"):
                self.tracebacks += 1
            self.stderr_tail.append(line)

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()
