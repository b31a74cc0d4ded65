"""The ``auto`` precision: bfloat16 on a CPU with native bf16 arithmetic, float32 otherwise.

Native means instructions that compute in bf16: AVX512-BF16 or AMX-BF16 (the ``avx512_bf16``
and ``amx_bf16`` flags of ``/proc/cpuinfo``). Without them bf16 is emulated and slower than
float32. On this project's benchmark machine bf16 took 97 ms a line against 147 ms in float32,
at the same quality. GPUs and MPS keep float32 under ``auto``; any precision can still be set.

Nothing here imports torch: the language server's process can describe the choice too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` text (read from the machine when
    ``None``); empty where the file does not exist (not Linux) or lists none."""
    if cpuinfo is None:
        if not CPUINFO.exists():
            return frozenset()
        cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def native_bf16(flags: Iterable[str]) -> str | None:
    """The flag that gives the CPU native bf16 arithmetic, or ``None``."""
    present = set(flags)
    return next((flag for flag in NATIVE_BF16_FLAGS if flag in present), None)


def choose(device_type: str, flags: Iterable[str]) -> str:
    """``auto`` resolved for a device of ``device_type`` (``cpu``, ``cuda``, ``mps``) on a
    CPU with ``flags``."""
    return "bfloat16" if device_type == "cpu" and native_bf16(flags) else "float32"


def auto_precision(device_type: str = "cpu") -> str:
    """``auto`` resolved on this machine."""
    return choose(device_type, cpu_flags() if device_type == "cpu" else ())


def describe(setting: str, device_type: str, flags: Iterable[str] | None = None) -> str:
    """One line for ``code-diffusion info`` and the status: the precision and why."""
    if setting != "auto":
        return f"{setting} (set)"
    if device_type != "cpu":
        return f"float32 (auto: bfloat16 is chosen only on CPUs with native bf16; {device_type})"
    flags = cpu_flags() if flags is None else flags
    flag = native_bf16(flags)
    if flag is not None:
        return f"bfloat16 (auto: the CPU has {flag})"
    return ("float32 (auto: the CPU has no native bfloat16, neither "
            f"{' nor '.join(NATIVE_BF16_FLAGS)})")
