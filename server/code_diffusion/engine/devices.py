"""Devices and precisions: resolve ``auto`` and refuse what this machine cannot run.

A device or precision the machine cannot run is a :class:`DeviceError` that says so and what
to use instead, never a silent switch to something else.
"""

from __future__ import annotations

from code_diffusion.engine.errors import DeviceError
from code_diffusion.engine.types import DEVICE_PATTERN, PRECISIONS


def resolve_device(device: str):
    """``auto`` → cuda if present, else mps, else cpu; an explicit device must exist."""
    import torch

    if not isinstance(device, str) or not DEVICE_PATTERN.match(device):
        raise DeviceError("device", f"device must be auto, cpu, cuda, cuda:N or mps, "
                                    f"got {device!r}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("device", f"device {device!r} is not available: this torch "
                              f"({torch.__version__}) sees no CUDA GPU; use --device cpu "
                              "(setting codeDiffusion.device: \"cpu\" or \"auto\")")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise DeviceError("device", f"device {device!r} does not exist: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    if device == "mps" and not (getattr(torch.backends, "mps", None)
                                and torch.backends.mps.is_available()):
        raise DeviceError("device", "device 'mps' is not available on this machine; use "
                                    "--device cpu (setting codeDiffusion.device: \"cpu\")")
    return torch.device(device)


def torch_dtype(precision: str, device):
    """The torch dtype for ``precision``, after checking that ``device`` can compute in it."""
    import torch

    if precision not in PRECISIONS:
        raise DeviceError("precision", f"precision must be one of {', '.join(PRECISIONS)}, "
                                       f"got {precision!r}")
    if precision == "auto":
        from code_diffusion.engine.precision import auto_precision

        precision = auto_precision(getattr(device, "type", str(device)))
    dtype = getattr(torch, precision)
    if dtype is not torch.float32:
        try:
            probe = torch.ones(4, 4, dtype=dtype, device=device)
            (probe @ probe).softmax(-1).sum().item()
        except (RuntimeError, TypeError) as exc:
            raise DeviceError("precision", f"precision {precision!r} cannot run on {device} "
                              f"({exc}); use --precision float32") from exc
    return dtype
