"""Restart-only settings that cannot work: a model directory that is missing, truncated, has
the wrong tokenizer or an unknown family, a device this machine lacks, a precision it cannot
run. Each ends in status ``error`` with the reason; the server keeps answering; fixing the
setting and running ``codeDiffusion.restartModel`` recovers without a new process."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_servers import FAST, LOAD_TIMEOUT, SERVE, started

from code_diffusion.engine.errors import DeviceError
from code_diffusion.engine.loading import EMBEDDED_DIR
from code_diffusion.reliability.rpc import RawClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[RawClient]:
    client = started(SERVE)
    client.wait_state("ready", LOAD_TIMEOUT)
    yield client
    assert client.process.poll() is None, client.stderr()[-3000:]
    assert client.shutdown() == 0


def restart_with(server: RawClient, section: dict) -> dict:
    """Set the restart-only ``section``, run ``restartModel``; the state it settles in."""
    logged = len(server.messages("window/logMessage"))
    server.configuration = {"codeDiffusion": {**FAST, **section}}
    server.notify("workspace/didChangeConfiguration", {"settings": None})
    server.wait_for(lambda: any(m["message"].startswith("settings: ")
                                for m in server.messages("window/logMessage")[logged:]),
                    60, "the settings to be applied")
    seen = len(server.statuses())
    assert server.result("workspace/executeCommand",
                         {"command": "codeDiffusion.restartModel"}) is None
    return server.wait_for(lambda: next((s for s in server.statuses()[seen + 1:]
                                         if s["state"] in ("ready", "error")), None),
                           LOAD_TIMEOUT, "the model to settle")


def assert_answers(server: RawClient) -> None:
    """Completions answer (empty while the model is unavailable) and the status is served."""
    uri = "file:///model-settings/probe.py"
    server.open(uri, "value = ")
    answer = server.inline(uri, 0, 8)
    assert "result" in answer, answer
    assert server.result("workspace/executeCommand", {"command": "codeDiffusion.status"})


def copy_embedded(directory: Path) -> Path:
    shutil.copytree(EMBEDDED_DIR, directory)
    return directory


def truncated(directory: Path) -> Path:
    weights = copy_embedded(directory) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])
    return directory


def broken_tokenizer(directory: Path) -> Path:
    (copy_embedded(directory) / "tokenizer.json").write_text('{"version": "1.0", "model": ')
    return directory


def foreign_tokenizer(directory: Path) -> Path:
    """A tokenizer of another model: 6,000 tokens for an embedding of 4,096 rows."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, **{f"tok{i}": i + 1 for i in range(6_000)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(copy_embedded(directory) / "tokenizer.json"))
    return directory


def unknown_family(directory: Path) -> Path:
    copy_embedded(directory)
    (directory / "code_diffusion.json").unlink()
    (directory / "config.json").write_text(json.dumps(
        {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 4096}))
    return directory


def invalid_config(directory: Path) -> Path:
    (copy_embedded(directory) / "config.json").write_text("{ not json")
    return directory


def no_weights(directory: Path) -> Path:
    (copy_embedded(directory) / "model.safetensors").unlink()
    return directory


def a_file(directory: Path) -> Path:
    directory.write_text("not a directory")
    return directory


def missing(directory: Path) -> Path:
    return directory


@pytest.mark.parametrize(("make", "words"), [
    (missing, ["does not exist"]),
    (a_file, ["is a file"]),
    (truncated, ["could not load the weights", "truncated"]),
    (broken_tokenizer, ["could not load the tokenizer"]),
    (foreign_tokenizer, ["4096 rows", "belongs to another model"]),
    (unknown_family, ["'gpt2'", "not a family code-diffusion can drive"]),
    (invalid_config, ["config.json is not valid JSON"]),
    (no_weights, ["has no weights"]),
])
def test_a_bad_model_directory_is_an_error_state_and_restart_recovers(server, tmp_path, make,
                                                                      words):
    path = make(tmp_path / "model")
    status = restart_with(server, {"modelPath": str(path)})
    assert status["state"] == "error", status
    for word in words:
        assert word in status["message"], status["message"]
    assert "restartModel" in status["message"]
    assert_answers(server)
    assert restart_with(server, {"modelPath": ""})["state"] == "ready"
    assert_answers(server)


def test_a_device_this_machine_lacks_then_cpu(server):
    status = restart_with(server, {"device": "cuda"})
    assert status["state"] == "error"
    assert "device 'cuda' is not available" in status["message"]
    assert_answers(server)
    assert restart_with(server, {"device": "cpu"})["state"] == "ready"
    assert_answers(server)


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_the_reduced_precisions_this_cpu_runs_serve(server, precision):
    status = restart_with(server, {"device": "cpu", "precision": precision})
    assert status["state"] == "ready" and status["precision"] == precision, status
    assert_answers(server)
    assert restart_with(server, {"precision": "float32"})["state"] == "ready"


def test_a_precision_the_device_cannot_run_is_refused_with_the_reason(monkeypatch):
    """This CPU runs every precision, so the device's failure is simulated where torch would
    raise it: the probe multiplication in the requested dtype."""
    import torch

    from code_diffusion.engine.devices import torch_dtype

    real_ones = torch.ones

    def ones(*args, dtype=None, **kwargs):
        if dtype is torch.float16:
            raise RuntimeError('"addmm_impl_cpu_" not implemented for \'Half\'')
        return real_ones(*args, dtype=dtype, **kwargs)

    monkeypatch.setattr(torch, "ones", ones)
    with pytest.raises(DeviceError) as caught:
        torch_dtype("float16", torch.device("cpu"))
    message = str(caught.value)
    assert "precision 'float16' cannot run on cpu" in message
    assert "use --precision float32" in message
    assert torch_dtype("float32", torch.device("cpu")) is torch.float32
