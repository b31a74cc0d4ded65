"""Security of model loading and of the running server: no remote code and no pickle without
the user's opt-in (engine level and through the server's settings), TCP on 127.0.0.1 only,
no sockets and no child processes at run time, no path from a request is opened."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
from pathlib import Path

import psutil
import pytest
from reliability_servers import FAST, LOAD_TIMEOUT, SERVE, started

from code_diffusion.engine.errors import ModelLoadError
from code_diffusion.engine.loading import EMBEDDED_DIR, load_model

pytestmark = pytest.mark.e2e
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


class _Trap:
    """Unpickling this creates ``marker``: proof that the file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def remote_code_checkpoint(directory: Path, marker: Path) -> Path:
    """A Dream-style checkpoint whose own Python code would create ``marker`` on import."""
    directory.mkdir()
    for name in (*TOKENIZER_FILES, "model.safetensors"):
        shutil.copy(EMBEDDED_DIR / name, directory / name)
    (directory / "config.json").write_text(json.dumps({
        "model_type": "Dream", "architectures": ["DreamModel"],
        "auto_map": {"AutoConfig": "configuration_evil.EvilConfig",
                     "AutoModel": "modeling_evil.EvilModel"}}))
    code = f"open({str(marker)!r}, 'w').close()\n"
    (directory / "configuration_evil.py").write_text(code)
    (directory / "modeling_evil.py").write_text(code)
    return directory


def pickle_checkpoint(directory: Path, marker: Path) -> Path:
    """A BERT-shaped checkpoint whose only weights are a pickle that creates ``marker``."""
    directory.mkdir()
    for name in TOKENIZER_FILES:
        shutil.copy(EMBEDDED_DIR / name, directory / name)
    (directory / "config.json").write_text(json.dumps({
        "model_type": "bert", "architectures": ["BertForMaskedLM"], "vocab_size": 4096,
        "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64}))
    (directory / "pytorch_model.bin").write_bytes(pickle.dumps(_Trap(marker), protocol=2))
    return directory


def honest_pickle_checkpoint(directory: Path) -> Path:
    """A real (tiny, random) BERT saved as pickle weights, for the opt-in path."""
    import torch

    from tiny_models import tiny_bert

    model = tiny_bert()
    model.config.architectures = ["BertForMaskedLM"]
    model.config.save_pretrained(directory)
    torch.save(model.state_dict(), directory / "pytorch_model.bin")
    for name in TOKENIZER_FILES:
        shutil.copy(EMBEDDED_DIR / name, directory / name)
    return directory


# -- engine level -----------------------------------------------------------------------------

def test_remote_code_is_refused_without_trust_remote_code(tmp_path):
    marker = tmp_path / "remote-code-ran"
    directory = remote_code_checkpoint(tmp_path / "dream", marker)
    with pytest.raises(ModelLoadError) as caught:
        load_model(directory, device="cpu")
    assert "ships its own Python code" in str(caught.value)
    assert "codeDiffusion.trustRemoteCode" in str(caught.value)
    assert not marker.exists()


def test_pickle_weights_are_refused_without_allow_unsafe_weights(tmp_path):
    marker = tmp_path / "pickle-ran"
    directory = pickle_checkpoint(tmp_path / "bert", marker)
    with pytest.raises(ModelLoadError) as caught:
        load_model(directory, device="cpu")
    assert "only pickle weights (pytorch_model.bin)" in str(caught.value)
    assert "codeDiffusion.allowUnsafeWeights" in str(caught.value)
    assert not marker.exists()


def test_even_with_the_opt_in_a_pickle_that_runs_code_does_not_run(tmp_path):
    marker = tmp_path / "pickle-ran"
    directory = pickle_checkpoint(tmp_path / "bert", marker)
    with pytest.raises(ModelLoadError):
        load_model(directory, device="cpu", allow_unsafe_weights=True)
    assert not marker.exists()  # torch's weights-only unpickler refuses the call


def test_the_pickle_opt_in_loads_honest_weights(tmp_path):
    directory = honest_pickle_checkpoint(tmp_path / "bert")
    model = load_model(directory, device="cpu", allow_unsafe_weights=True)
    assert model.info.family == "masked-lm"


# -- through the server's settings ------------------------------------------------------------

def test_the_server_refuses_remote_code_and_pickle_and_honours_the_opt_in(tmp_path):
    marker = tmp_path / "code-ran"
    dream = remote_code_checkpoint(tmp_path / "dream", marker)
    evil = pickle_checkpoint(tmp_path / "evil", marker)
    honest = honest_pickle_checkpoint(tmp_path / "honest")
    server = started(SERVE, {"modelPath": str(dream)})
    try:
        error = server.wait_state("error", LOAD_TIMEOUT)
        assert "codeDiffusion.trustRemoteCode" in error["message"]
        for path, words, opt_in in ((evil, "codeDiffusion.allowUnsafeWeights", False),
                                    (honest, "codeDiffusion.allowUnsafeWeights", False)):
            status = restart(server, {"modelPath": str(path), "allowUnsafeWeights": opt_in})
            assert status["state"] == "error" and words in status["message"], status
        status = restart(server, {"modelPath": str(honest), "allowUnsafeWeights": True})
        assert status["state"] == "ready", status
        status = restart(server, {"modelPath": str(evil), "allowUnsafeWeights": True})
        assert status["state"] == "error", status
        assert not marker.exists()
    finally:
        assert server.shutdown() == 0


def restart(server, section: dict) -> dict:
    logged = len(server.messages("window/logMessage"))
    server.configuration = {"codeDiffusion": {**FAST, **section}}
    server.notify("workspace/didChangeConfiguration", {"settings": None})
    server.wait_for(lambda: any(m["message"].startswith("settings: ")
                                for m in server.messages("window/logMessage")[logged:]),
                    60, "the settings")
    seen = len(server.statuses())
    server.result("workspace/executeCommand", {"command": "codeDiffusion.restartModel"})
    return server.wait_for(lambda: next((s for s in server.statuses()[seen + 1:]
                                         if s["state"] in ("ready", "error")), None),
                           LOAD_TIMEOUT, "the model to settle")


# -- the running server -----------------------------------------------------------------------

def test_tcp_binds_the_loopback_address_only():
    server = subprocess.Popen([*SERVE, "--tcp", "--port", "0"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        assert re.search(r"listening on \('127\.0\.0\.1', \d+\)", line), line
        listening = [c for c in psutil.Process(server.pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN]
        assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening), listening
    finally:
        server.kill()
        server.wait()


def test_no_socket_no_child_process_and_no_path_from_a_request_is_opened(tmp_path):
    fifo = tmp_path / "trap.py"
    os.mkfifo(fifo)  # opening it for reading would block the server
    server = started(SERVE)
    try:
        server.wait_state("ready", LOAD_TIMEOUT)
        uri = "file:///security/open.py"
        server.open(uri, "# TODO: add\ndef f(x):\n    pass\nx = ")
        here = {"line": 3, "character": 4}
        for method in ("textDocument/inlineCompletion", "textDocument/completion"):
            assert "result" in server.request(method, {
                "textDocument": {"uri": uri}, "position": here, "context": {"triggerKind": 1}})
        for target in (fifo.as_uri(), "file:///etc/passwd", f"file://{tmp_path}"):
            answer = server.request("textDocument/inlineCompletion", {
                "textDocument": {"uri": target}, "position": {"line": 0, "character": 0},
                "context": {"triggerKind": 1}}, timeout=30)
            assert "is not open" in answer["error"]["message"], answer
            answer = server.request("workspace/executeCommand", {
                "command": "codeDiffusion.fillBody", "arguments": [{"uri": target, "range": {
                    "start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}]},
                timeout=30)
            assert "is not open" in answer["error"]["message"], answer
        process = psutil.Process(server.pid)
        assert process.net_connections(kind="inet") == []
        assert process.children(recursive=True) == []
        opened = {f.path for f in process.open_files()}
        assert str(fifo) not in opened and "/etc/passwd" not in opened
    finally:
        assert server.shutdown() == 0


def test_a_model_path_that_is_a_fifo_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "model"
    os.mkfifo(fifo)
    server = started(SERVE, {"modelPath": str(fifo)})
    try:
        error = server.wait_state("error", LOAD_TIMEOUT)
        assert "is a file; it must be a directory" in error["message"]
    finally:
        assert server.shutdown() == 0
