"""The remote backend against a real HTTP server on 127.0.0.1 that answers each case."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from code_diffusion.engine.adapters import remote
from code_diffusion.engine.adapters.remote import RemoteModel, RemoteOptions
from code_diffusion.engine.errors import GenerationCancelled, UnsupportedParameterError
from code_diffusion.engine.generator import CodeGenerator
from code_diffusion.engine.options import SamplerOptions

Answer = Callable[[BaseHTTPRequestHandler, dict], None]


class Server:
    """A threading HTTP server whose ``answer`` decides each response; it records bodies."""

    def __init__(self) -> None:
        self.answer: Answer = ok(["x"])
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.disconnected = threading.Event()
        self.owner: str | None = None
        """``owned_by`` of the model ``GET /v1/models`` lists; ``None``: no such route."""
        self.listings = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                owner.bodies.append(body)
                owner.headers.append(dict(self.headers))
                owner.answer(self, body)

            def do_GET(self) -> None:
                if owner.owner is None or self.path != "/v1/models":
                    send(self, 404, b'{"error": {"message": "Not Found"}}')
                    return
                owner.listings += 1
                send(self, 200, json.dumps({"object": "list", "data": [
                    {"id": "m", "object": "model", "owned_by": owner.owner}]}).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for key, value in (headers or {"Content-Type": "application/json"}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def ok(texts: list[str]) -> Answer:
    def answer(handler: BaseHTTPRequestHandler, body: dict) -> None:
        if body.get("stream"):
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.end_headers()
            for index, text in enumerate(texts):
                for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
                    chunk = {"choices": [{"index": index, "text": piece}]}
                    handler.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    handler.wfile.flush()
            handler.wfile.write(b"data: [DONE]\n\n")
            return
        choices = [{"index": i, "text": t} for i, t in enumerate(texts)]
        send(handler, 200, json.dumps({"choices": choices}).encode())

    return answer


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    def answer(handler: BaseHTTPRequestHandler, body: dict) -> None:
        send(handler, status, json.dumps({"error": {"message": message}}).encode(), headers)

    return answer


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def model(server: Server, **options: object) -> RemoteModel:
    return RemoteModel(RemoteOptions(url=server.url, model="m", timeout_ms=2000, **options))


@pytest.mark.parametrize("stream", [False, True])
def test_infill_sends_the_completions_shape_and_reads_choices(server: Server, stream: bool):
    server.answer = ok(["a + b", "b + a"])
    out = model(server, stream=stream).generate(
        "add them", "python", ("def f(a, b):\n    return ", "\n"), num_samples=2,
        max_length=12, temperature=0.5)
    assert [c.text for c in out] == ["a + b", "b + a"]
    body = server.bodies[-1]
    assert body["prompt"] == "# add them\ndef f(a, b):\n    return "
    assert body["suffix"] == "\n" and body["n"] == 2 and body["max_tokens"] == 12
    assert body["temperature"] == 0.5 and body["model"] == "m" and body["stream"] is stream
    assert not {"steps", "block_length", "threshold"} & set(body)


def test_diffusion_extras_are_sent_when_configured(server: Server):
    model(server, steps=16, block_length=32, threshold=0.9).generate("", None, "x = ")
    assert {k: server.bodies[-1][k] for k in ("steps", "block_length", "threshold")} == {
        "steps": 16, "block_length": 32, "threshold": 0.9}


def test_streamed_chunks_become_steps(server: Server):
    server.answer = ok(["abcd"])
    steps = list(model(server, stream=True).sample("", None, "x = "))
    seen = [s.texts for s in steps if not s.done and s.step > 0]
    assert ("ab",) in seen and ("abcd",) in seen
    assert steps[-1].candidates[0].text == "abcd"


def test_api_key_comes_from_the_named_variable(server: Server, monkeypatch):
    monkeypatch.setenv("CD_TEST_KEY", "sekrit")
    model(server, api_key_env="CD_TEST_KEY").generate("", None, "x")
    assert server.headers[-1]["Authorization"] == "Bearer sekrit"


def test_a_missing_key_variable_is_refused_before_any_request(server: Server, monkeypatch):
    monkeypatch.delenv("CD_TEST_KEY", raising=False)
    with pytest.raises(remote.RemoteBackendError, match=r"CD_TEST_KEY .*not set"):
        model(server, api_key_env="CD_TEST_KEY")
    assert server.bodies == []


@pytest.mark.parametrize(("status", "message", "kind", "says"), [
    (401, "bad key", remote.RemoteAuthError, "refused the credentials"),
    (403, "forbidden", remote.RemoteAuthError, "apiKeyEnv"),
    (404, "The model `m` does not exist", remote.RemoteNotFound, "has no model 'm'"),
    (404, "Not Found", remote.RemoteNotFound, "fix codeDiffusion.remote.path"),
    (500, "boom", remote.RemoteServerError, "HTTP 500: boom"),
])
def test_http_errors_say_what_to_do(server, status, message, kind, says):
    server.answer = error(status, message)
    with pytest.raises(kind, match=says):
        model(server).generate("", None, "x")


def test_a_refused_suffix_says_the_server_cannot_infill(server: Server):
    server.answer = error(400, "suffix is not supported for this model")
    with pytest.raises(remote.RemoteInfillUnsupported, match=r"cannot infill.*allowPrefixOnly"):
        model(server).generate("", None, ("x = ", "\ny = 2"))
    assert len(server.bodies) == 1


def test_prefix_only_when_the_user_allows_it(server: Server):
    def answer(handler, body):
        (error(400, "suffix not supported") if "suffix" in body else ok(["1"]))(handler, body)

    server.answer = answer
    backend = model(server, allow_prefix_only=True)
    assert backend.generate("", None, ("x = ", "\ny = 2"))[0].text == "1"
    assert "suffix" in server.bodies[0] and "suffix" not in server.bodies[1]
    backend.generate("", None, ("x = ", "\ny = 2"))
    assert "suffix" not in server.bodies[2]


@pytest.mark.parametrize("status", [429, 503])
def test_busy_answers_are_retried_then_reported(server: Server, status: int):
    server.answer = error(status, "busy", {"Content-Type": "application/json",
                                           "Retry-After": "0"})
    with pytest.raises(remote.RemoteBusy, match=f"HTTP {status}.* after 2 retries"):
        model(server, retries=2).generate("", None, "x")
    assert len(server.bodies) == 3


def test_a_busy_server_that_recovers_is_served(server: Server):
    answers = [error(503, "starting"), ok(["fine"])]
    server.answer = lambda handler, body: answers.pop(0)(handler, body)
    assert model(server, retries=1).generate("", None, "x")[0].text == "fine"


def test_other_errors_are_not_retried(server: Server):
    server.answer = error(500, "boom")
    with pytest.raises(remote.RemoteServerError):
        model(server, retries=3).generate("", None, "x")
    assert len(server.bodies) == 1


@pytest.mark.parametrize("payload", [b"not json", b'{"result": 1}', b'{"choices": [{}]}'])
def test_malformed_answers_are_named(server: Server, payload: bytes):
    server.answer = lambda handler, body: send(handler, 200, payload)
    with pytest.raises(remote.RemoteProtocolError, match="not the completions shape"):
        model(server).generate("", None, "x")


def test_connection_refused_says_unreachable():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = RemoteModel(RemoteOptions(url=f"http://127.0.0.1:{port}"))
    with pytest.raises(remote.RemoteUnavailable,
                       match=f"remote backend unreachable at http://127.0.0.1:{port}"):
        backend.generate("", None, "x")


def test_a_silent_server_times_out(server: Server):
    release = threading.Event()
    server.answer = lambda handler, body: release.wait(5)
    try:
        with pytest.raises(remote.RemoteTimeout, match="within 300 ms"):
            RemoteModel(RemoteOptions(url=server.url, timeout_ms=300)).generate("", None, "x")
    finally:
        release.set()


@pytest.mark.parametrize("stream", [False, True])
def test_cancelling_aborts_the_http_request(server: Server, stream: bool):
    started, gone = threading.Event(), threading.Event()

    def answer(handler, body):
        started.set()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        try:
            for _ in range(200):  # the client leaving breaks the write
                handler.wfile.write(b": waiting\n\n")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            gone.set()

    server.answer = answer
    generator = CodeGenerator(model(server, stream=stream))
    with pytest.raises(GenerationCancelled):
        generator.fill("x = ", 4, should_stop=started.is_set)
    assert gone.wait(5), "the server still writes to a cancelled request"


def test_parameters_it_cannot_honour_are_refused(server: Server):
    with pytest.raises(UnsupportedParameterError, match="guidance_scale"):
        model(server).generate("spec", None, "x", guidance_scale=2.0)
    assert server.bodies == []


@pytest.mark.parametrize(("field", "value", "says"), [
    ("url", "", "codeDiffusion.remote.url"), ("path", "v1", "must start with /")])
def test_bad_settings_are_refused(field: str, value: str, says: str):
    options = {"url": "http://127.0.0.1:1", field: value}
    with pytest.raises(remote.RemoteBackendError, match=says):
        RemoteModel(RemoteOptions(**options))


def test_the_generator_fills_a_hole_through_the_remote_backend(server: Server):
    server.answer = ok(["42\nz = 3"])
    result = CodeGenerator(model(server)).fill("x = \ny = 1\n", 4)
    assert result.candidates[0].text == "42"


PREAMBLE = "# util.py\nLIMIT = 3\n"


def test_a_plain_server_gets_the_preamble_ahead_of_the_prompt_and_nothing_extra(server):
    server.owner = "vllm"
    model(server).generate("add", "python", ("x = ", "\n"),
                           sampler=SamplerOptions(kind="line", preamble=PREAMBLE))
    body = server.bodies[-1]
    assert body["prompt"] == PREAMBLE + "# add\nx = "
    assert "code_diffusion" not in body and body["suffix"] == "\n"


def test_serve_ray_gets_the_hole_shape_and_the_preamble(server):
    server.owner = "code-diffusion"
    backend = model(server)
    options = SamplerOptions(kind="line", healed_break=True, preamble=PREAMBLE,
                             canvas_length=20)
    backend.generate("", None, ("x = ", "\n"), sampler=options)
    backend.generate("", None, ("y = ", "\n"), sampler=SamplerOptions(kind="block"))
    first, second = server.bodies
    assert first["prompt"] == "x = "
    assert first["code_diffusion"] == {"kind": "line", "healed_break": True,
                                       "canvas_length": 20, "preamble": PREAMBLE}
    assert second["code_diffusion"] == {"kind": "block"}
    assert server.listings == 1  # asked once


def test_the_generator_sends_the_hole_kind_it_decided(server):
    server.owner = "code-diffusion"
    server.answer = ok(["\n    return a"])
    CodeGenerator(model(server)).fill("def f(a):\n    \n", 14, hole="line")
    assert server.bodies[-1]["code_diffusion"] == {"kind": "line", "healed_break": True,
                                                   "span_chars": 0}
    assert server.bodies[-1]["prompt"] == "def f(a):"


@pytest.mark.parametrize("options", [SamplerOptions(canvas_length=20),
                                     SamplerOptions(length_control=False)])
def test_canvas_rules_a_plain_server_cannot_follow_are_refused(server, options):
    with pytest.raises(UnsupportedParameterError, match="sampler option"):
        model(server).generate("", None, "x", sampler=options)
    assert server.bodies == []


@pytest.mark.parametrize("options", [SamplerOptions(threshold=0.5), SamplerOptions(top_p=0.9),
                                     SamplerOptions(cache="none"), SamplerOptions(window=64)])
def test_sampler_settings_of_the_server_are_refused(server, options):
    server.owner = "code-diffusion"
    with pytest.raises(UnsupportedParameterError, match="sampler option"):
        model(server).generate("", None, "x", sampler=options)
    assert server.bodies == []


def test_without_a_model_listing_the_server_is_asked_again(server):
    backend = model(server)
    backend.generate("", None, "x", sampler=SamplerOptions(kind="line"))
    assert "code_diffusion" not in server.bodies[-1] and backend.own_server is None
    server.owner = "code-diffusion"  # e.g. the app finished deploying
    backend.generate("", None, "x", sampler=SamplerOptions(kind="line"))
    assert server.bodies[-1]["code_diffusion"] == {"kind": "line"}
