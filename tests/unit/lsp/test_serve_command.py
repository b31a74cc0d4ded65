"""``code-diffusion serve`` itself: --stdio, --log-file, --tcp, and a clean stdout."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

SERVE = [sys.executable, "-m", "code_diffusion", "serve"]


def frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


SESSION = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"processId": None, "capabilities": {}}},
    {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
    {"jsonrpc": "2.0", "method": "exit"},
]


def messages(stream: bytes) -> list[dict]:
    """Every message in ``stream``, which must hold nothing but LSP frames."""
    found, rest = [], stream
    while rest:
        match = re.match(rb"Content-Length: (\d+)\r\n(?:[^\r\n]+\r\n)*\r\n", rest)
        assert match, f"not an LSP frame: {rest[:80]!r}"
        end = match.end() + int(match.group(1))
        found.append(json.loads(rest[match.end():end]))
        rest = rest[end:]
    return found


def test_stdio_with_log_file(tmp_path):
    log = tmp_path / "server.log"
    done = subprocess.run([*SERVE, "--stdio", "--log-file", str(log)], check=False,
                          input=b"".join(frame(m) for m in SESSION), capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    replies = {m["id"]: m for m in messages(done.stdout) if "id" in m}
    assert replies[1]["result"]["serverInfo"]["name"] == "code-diffusion"
    assert replies[2]["result"] is None
    text = log.read_text(encoding="utf-8")
    assert "INFO code_diffusion.lsp.features.lifecycle: code-diffusion" in text
    assert "shutting down" in text


def test_tcp_on_localhost():
    server = subprocess.Popen([*SERVE, "--tcp", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        line = server.stderr.readline().decode()
        match = re.search(r"listening on \('127\.0\.0\.1', (\d+)\)", line)
        assert match, line
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=60) as sock:
            sock.sendall(b"".join(frame(m) for m in SESSION))
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert {m.get("id") for m in messages(received)} >= {1, 2}
        assert server.wait(timeout=30) == 0
        assert server.stdout.read() == b""
    finally:
        server.kill()


def test_bad_port_is_refused():
    done = subprocess.run([*SERVE, "--tcp", "--port", "70000"], check=False,
                          capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"--port must be 0 to 65535" in done.stderr
