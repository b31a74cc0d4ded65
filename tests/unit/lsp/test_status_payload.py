"""The status payload's precision choice: the setting resolved for the device, and why."""

from __future__ import annotations

from code_diffusion.engine.interface import ModelInfo
from code_diffusion.engine.loading import LoadOptions
from code_diffusion.engine.precision import describe
from code_diffusion.lsp.status import payload, precision_choice
from code_diffusion.worker import WorkerState, WorkerStatus

LOADING = WorkerStatus(WorkerState.LOADING)


def ready(device: str) -> WorkerStatus:
    info = ModelInfo(name="m", family="modernbert", device=device, precision="bfloat16")
    return WorkerStatus(WorkerState.READY, info=info)


def test_the_choice_follows_the_loaded_device():
    assert LoadOptions().precision == "float32"  # the server's default; auto is asked for
    options = LoadOptions(precision="auto")
    assert precision_choice(LOADING, options) is None  # device auto: not known yet
    assert precision_choice(ready("cpu"), options) == describe("auto", "cpu")
    assert precision_choice(ready("cuda:0"), options).startswith("float32 (auto: ")


def test_a_set_precision_or_device_is_known_before_loading():
    assert precision_choice(LOADING, LoadOptions(precision="bfloat16")) is None
    assert precision_choice(LOADING, LoadOptions(device="cpu", precision="bfloat16")) == (
        "bfloat16 (set)")
    assert payload(LOADING, LoadOptions(device="cpu", precision="auto"))["precisionChoice"] == (
        describe("auto", "cpu"))


def test_no_choice_for_the_remote_backend_or_without_options():
    assert precision_choice(ready("cpu"), LoadOptions(remote={"url": "http://x"})) is None
    assert payload(ready("cpu"))["precisionChoice"] is None
