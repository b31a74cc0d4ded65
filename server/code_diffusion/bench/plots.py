"""The benchmark's figures as PNGs (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LATENCY_PNG = "bench-latency.png"
QUALITY_PNG = "bench-quality-vs-passes.png"
SCALING_PNG = "bench-scaling.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def latency_histogram(samples: dict[str, list[float]], path: Path, title: str) -> Path:
    """One histogram of request latencies per series (direct and through the server)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    for label, values in samples.items():
        if values:
            ax.hist(values, bins=30, alpha=0.55, label=f"{label} (n={len(values)})")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("requests")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def quality_vs_passes(workloads: dict[str, dict[str, Any]], path: Path) -> Path:
    """Per workload, each sampler setting as a point: forward passes per committed token (x)
    against quality (y)."""
    plt = _pyplot()
    names = [n for n, w in workloads.items() if w.get("samplers")]
    columns = max(1, len(names))
    fig, axes = plt.subplots(1, columns, figsize=(3.6 * columns, 3.8), dpi=110, squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        workload = workloads[name]
        for key, row in workload["samplers"].items():
            x, y = row.get("forward_passes_per_token"), row.get("quality")
            if x is None or y is None:
                continue
            ax.scatter([x], [y], s=36)
            ax.annotate(key, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("forward passes per token", fontsize=8)
        ax.set_ylabel(workload.get("quality_metric", "quality"), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def scaling(lengths: list[dict[str, Any]], contexts: list[dict[str, Any]], path: Path) -> Path:
    """Latency (p50) against completion length per sampler, and against prefix size."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), dpi=110)
    if lengths:
        xs = [row["tokens"] for row in lengths]
        keys = [k for k in lengths[0] if k != "tokens"]
        for key in keys:
            left.plot(xs, [row[key]["p50_ms"] for row in lengths], marker="o", label=key)
        left.set_xlabel("completion length (tokens, fixed canvas)")
        left.set_ylabel("p50 latency (ms)")
        left.set_xscale("log", base=2)
        left.legend(fontsize=8)
        left.grid(alpha=0.3)
    if contexts:
        xs = [row["prefix_tokens"] for row in contexts]
        right.plot(xs, [row["p50_ms"] for row in contexts], marker="o", label="fill p50 (ms)")
        right.plot(xs, [row["uncut_forward_ms"] for row in contexts], marker="s",
                   label="one uncut forward pass (ms)")
        right.set_xlabel("prefix tokens before the cursor")
        right.set_xscale("log", base=2)
        right.legend(fontsize=8)
        right.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
