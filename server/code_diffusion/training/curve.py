"""Plot a training run's curve (training loss and held-out loss by masking rate)."""

from __future__ import annotations

from pathlib import Path


def plot_curve(log_file: Path, out_png: Path, unigram_ce: float | None = None) -> None:
    """Write a PNG with the mean masked-token CE on training batches (smoothed) and the
    held-out CE at each evaluated masking rate, against tokens seen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from code_diffusion.training.export import clean_log

    rows = clean_log(log_file)
    tokens = [r["tokens"] / 1e6 for r in rows]
    ce = [r["ce"] for r in rows]
    window = 25
    smooth = [sum(ce[max(0, i - window + 1) : i + 1]) / len(ce[max(0, i - window + 1) : i + 1])
              for i in range(len(ce))]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.plot(tokens, smooth, color="0.6", label=f"training batches (mean of {window} steps)")
    rates = sorted({k for r in rows for k in r if k.startswith("val_ce_t")})
    for key in rates:
        pts = [(r["tokens"] / 1e6, r[key]) for r in rows if key in r]
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, marker=".", label=f"held-out, masking rate {key[8:]}")
    if unigram_ce is not None:
        ax.axhline(unigram_ce, color="k", linestyle="--", linewidth=1,
                   label=f"unigram baseline ({unigram_ce:.2f})")
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel("cross-entropy at masked positions (nats)")
    ax.set_title("code-diffusion embedded model: training curve")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
