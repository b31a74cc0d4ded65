"""The shared statistics and machine description of every measurement report."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from code_diffusion import measure


@pytest.mark.parametrize("size", [1, 2, 3, 10, 101])
def test_percentile_interpolates_like_numpy(size: int) -> None:
    rng = random.Random(size)
    values = [rng.uniform(-50, 500) for _ in range(size)]
    for share in (0.0, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0):
        assert measure.percentile(values, share) == pytest.approx(
            float(np.percentile(values, 100 * share)))


def test_percentile_refuses_what_has_no_answer() -> None:
    with pytest.raises(ValueError, match="no values"):
        measure.percentile([], 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        measure.percentile([1.0], 95)


def test_summary_and_median() -> None:
    figures = measure.summary([4, 1, 3, 2, 10], digits=1)
    assert figures == {"min": 1.0, "p50": 3.0, "p95": 8.8, "mean": 4.0, "max": 10.0}
    assert measure.summary([]) == {}
    assert measure.median([3, 1, 2, 10]) == 2.5
    assert math.isnan(measure.median([]))


def test_the_machine_description_names_what_the_reports_print() -> None:
    machine = measure.describe()
    for key in ("cpu", "cores", "torch", "torch_threads", "python", "avx512_bf16",
                "load_average", "ram_gib"):
        assert key in machine
    assert machine["cores"] >= 1 and machine["cpu"]
    assert isinstance(measure.cpu_flags(), set)
    assert measure.native_bf16() == bool({"avx512_bf16", "amx_bf16"} & measure.cpu_flags())
    assert measure.own_peak_rss_mb() > 0
    assert measure.peak_rss_mb(2**22 + 12345) is None  # no such process
