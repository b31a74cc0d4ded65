"""One HTTP POST on its own thread, so the caller can abort it between polls.

The standard library's ``http.client`` blocks in ``getresponse`` and ``readline``; running it on
a daemon thread that hands events to a queue lets the caller wake every ``poll`` seconds, check
whether its request was superseded, and abort: :meth:`Exchange.abort` shuts the socket down, so
the server sees the client go away and the thread ends. No third-party client is needed, and the
core install does not grow.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_ERROR_BODY = 64 * 1024
BACKOFF = 0.25
"""First wait before a retry of a 429/503 answer; doubled for each further retry."""
MAX_RETRY_AFTER = 10.0


@dataclass(frozen=True)
class Event:
    """What the thread reports: ``status`` (code, headers, body for non-200), ``line`` (one
    line of a streamed body), ``body`` (a whole body), ``end`` or ``error`` (an exception)."""

    kind: str
    status: int = 0
    data: bytes = b""
    headers: dict[str, str] | None = None
    error: BaseException | None = None


class Exchange:
    """POST ``body`` (or GET without one) to ``base_url`` + ``path``; read the answer whole or
    line by line."""

    def __init__(self, base_url: str, path: str, body: bytes | None, headers: dict[str, str],
                 *, timeout: float, stream: bool, method: str = "POST") -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL")
        https = parts.scheme == "https"
        kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
        self.connection = kind(parts.hostname, parts.port, timeout=timeout)
        self.target = parts.path.rstrip("/") + path
        self.body, self.headers, self.stream, self.method = body, headers, stream, method
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.aborted = threading.Event()
        self.socket: socket.socket | None = None
        """Kept apart: ``http.client`` drops ``connection.sock`` once a response owns it."""
        self.thread = threading.Thread(target=self._run, name="code-diffusion-remote",
                                       daemon=True)

    def start(self) -> Exchange:
        self.thread.start()
        return self

    def next(self, poll: float) -> Event | None:
        """The next event, or ``None`` after ``poll`` seconds without one."""
        try:
            return self.events.get(timeout=poll)
        except queue.Empty:
            return None

    def abort(self) -> None:
        """Close the connection now (the server sees the client leave)."""
        self.aborted.set()
        sock = self.socket
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()

    def _run(self) -> None:
        try:
            self.connection.connect()
            self.socket = self.connection.sock
            if self.aborted.is_set():
                return
            self.connection.request(self.method, self.target, self.body, self.headers)
            response = self.connection.getresponse()
            headers = {k.lower(): v for k, v in response.getheaders()}
            if response.status != 200:
                self._put(Event("status", response.status, response.read(MAX_ERROR_BODY),
                                headers))
                return
            if not self.stream or "event-stream" not in headers.get("content-type", ""):
                # a server that ignores ``stream`` answers with one JSON body
                self._put(Event("body", 200, response.read(), headers))
                return
            for line in _lines(response):
                self._put(Event("line", 200, line))
            self._put(Event("end"))
        except BaseException as exc:  # handed to the caller, which names it
            if not self.aborted.is_set():
                self._put(Event("error", error=exc))
        finally:
            self.connection.close()

    def _put(self, event: Event) -> None:
        if not self.aborted.is_set():
            self.events.put(event)


def _lines(response: http.client.HTTPResponse) -> Iterator[bytes]:
    while line := response.readline():
        yield line


def owned_by(data: bytes) -> set[str]:
    """The ``owned_by`` values of a ``/v1/models`` answer (empty when it is not that shape)."""
    try:
        listing = json.loads(data)
    except ValueError:
        return set()
    models = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(models, list):
        return set()
    return {m.get("owned_by") for m in models if isinstance(m, dict)}


def retry_after(headers: dict[str, str], attempt: int) -> float:
    value = headers.get("retry-after", "")
    if value.replace(".", "", 1).isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    return BACKOFF * 2**attempt
