"""The ``auto`` precision: bfloat16 on CPUs with native bf16, float32 otherwise."""

from __future__ import annotations

import pytest
import torch

from code_diffusion.engine import precision
from code_diffusion.engine.devices import torch_dtype
from code_diffusion.engine.errors import DeviceError
from code_diffusion.engine.loading import load_model
from code_diffusion.engine.types import GenerationRequest

SAPPHIRE_RAPIDS = "fpu vme avx2 avx512f avx512bw amx_bf16 amx_tile amx_int8"
ZEN4 = "fpu avx2 avx512f avx512_vnni avx512_bf16"
ICE_LAKE = "fpu avx2 avx512f avx512bw avx512_vnni"
HASWELL = "fpu sse4_2 avx avx2 fma"


def cpuinfo(flags: str) -> str:
    return (f"processor\t: 0\nmodel name\t: a CPU\nflags\t\t: {flags}\n\n"
            f"processor\t: 1\nflags\t\t: {flags}\n")


@pytest.mark.parametrize(("flags", "device", "expected"), [
    (SAPPHIRE_RAPIDS, "cpu", "bfloat16"),
    (ZEN4, "cpu", "bfloat16"),
    (ICE_LAKE, "cpu", "float32"),  # AVX-512 without its bf16 extension: emulated, slower
    (HASWELL, "cpu", "float32"),
    ("", "cpu", "float32"),
    (ZEN4, "cuda", "float32"),  # the CPU's flags say nothing about a GPU
    (ZEN4, "mps", "float32"),
])
def test_choice_from_the_flags(flags, device, expected):
    assert precision.choose(device, precision.cpu_flags(cpuinfo(flags))) == expected


def test_flags_are_read_from_the_flags_line_only():
    assert precision.cpu_flags("model name\t: avx512_bf16 inside\n") == frozenset()
    assert precision.native_bf16(precision.cpu_flags(cpuinfo(SAPPHIRE_RAPIDS))) == "amx_bf16"


def test_the_choice_is_described():
    assert precision.describe("auto", "cpu", {"avx512_bf16"}) == (
        "bfloat16 (auto: the CPU has avx512_bf16)")
    assert "no native bfloat16" in precision.describe("auto", "cpu", {"avx2"})
    assert precision.describe("auto", "cuda", {"avx512_bf16"}).startswith("float32")
    assert precision.describe("float16", "cpu", {"avx512_bf16"}) == "float16 (set)"


def test_this_machine_loads_what_auto_chooses():
    chosen = precision.choose("cpu", precision.cpu_flags())
    assert precision.auto_precision("cpu") == chosen
    assert torch_dtype("auto", torch.device("cpu")) is getattr(torch, chosen)
    model = load_model(precision="auto", device="cpu")
    assert model.info.precision == chosen
    out = model.generate("", "python", ("def add(a, b):\n    return ", "\n"), steps=4,
                         max_length=8, precision="auto")
    assert len(out) == 1


def test_auto_is_a_precision_and_nonsense_is_not():
    assert GenerationRequest(precision="auto").precision == "auto"
    with pytest.raises(DeviceError, match="auto"):
        torch_dtype("float8", torch.device("cpu"))
