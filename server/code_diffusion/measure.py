"""What every measurement shares: summary statistics of a sample, the machine, the clock.

``code-diffusion bench``, ``code-diffusion eval`` and ``python -m code_diffusion.reliability``
describe their figures with these helpers, so a p95 or a machine line means the same thing in
every report. Standard library only (torch is imported when the machine is described), so the
module costs nothing to import.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import resource
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# --- statistics of a sample -----------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0 ≤ share ≤ 1) of ``values``, interpolated linearly between the
    two nearest ranks (numpy's default). Raises ``ValueError`` for no values."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, got {share}")
    ordered = sorted(float(v) for v in values)
    rank = share * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    """The median of ``values``; ``nan`` for no values (a figure that was not measured)."""
    return statistics.median(values) if values else float("nan")


def summary(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """min / p50 / p95 / mean / max of ``values``, rounded (``{}`` for no values)."""
    if not values:
        return {}
    return {"min": round(float(min(values)), digits),
            "p50": round(percentile(values, 0.5), digits),
            "p95": round(percentile(values, 0.95), digits),
            "mean": round(statistics.fmean(values), digits),
            "max": round(float(max(values)), digits)}


# --- the machine ----------------------------------------------------------------------------


def _cpuinfo(key: str) -> str | None:
    """The value of the first ``key`` line of ``/proc/cpuinfo`` (``None`` where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or what ``platform`` knows)."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``avx512f``, ``amx_tile``, ...); empty where unknown."""
    return set((_cpuinfo("flags") or "").split())


def native_bf16() -> bool:
    """True when this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def ram_gib() -> float | None:
    """Physical memory in GiB (``None`` where the system does not say)."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        return None


def describe() -> dict[str, Any]:
    """CPU model, cores, memory, the vector extensions that matter for inference, torch,
    Python, the OS and the load when the measurement started."""
    import torch

    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": ram_gib(),
        "torch_threads": torch.get_num_threads(),
        "avx512": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx": "amx_tile" in flags,
        "gpu": torch.cuda.is_available(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- memory ---------------------------------------------------------------------------------


def own_peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size (``VmHWM``) of a live process, in MiB (``None`` if gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
