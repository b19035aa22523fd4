"""Matplotlib figures (Agg backend, PNG), each written atomically.

- angle_traces: angles over time, one panel per angle, one line per track.
- keypoint_error_bars: per-keypoint EPE (mean ± SD) per method.
- angle_rmse_bars: per-angle RMSE per method.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from anonymotion.report.tables import write_atomic

_COLORS = ("#222222", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")


def _figure(rows: int, cols: int, w: float, h: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(w, h), squeeze=False)
    return plt, fig, axes


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    write_atomic(Path(path), lambda fh: fig.savefig(fh, format="png", dpi=90), mode="wb")
    plt.close(fig)
    return Path(path)


def angle_traces(path: Path, t: np.ndarray, tracks: dict[str, np.ndarray], names: Sequence[str],
                 title: str = "", max_panels: int = 12) -> Path:
    """tracks: label -> (T, A) degrees over times t (T,) seconds; one panel per angle."""
    n = min(len(names), max_panels)
    cols = 3 if n > 4 else 2
    rows = max(1, -(-n // cols))
    plt, fig, axes = _figure(rows, cols, 4.2 * cols, 2.4 * rows)
    for j in range(rows * cols):
        ax = axes[j // cols][j % cols]
        if j >= n:
            ax.axis("off")
            continue
        for c, (label, a) in enumerate(tracks.items()):
            ax.plot(t, a[:, j], color=_COLORS[c % len(_COLORS)], lw=1.2 if c == 0 else 1.0,
                    ls="-" if c == 0 else "--", label=label)
        ax.set_title(names[j].replace("_", " "), fontsize=9)
        ax.set_xlabel("time (s)", fontsize=8)
        ax.set_ylabel("degrees", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(plt, fig, path)


def keypoint_error_bars(path: Path, names: Sequence[str], mean: dict[str, np.ndarray],
                        sd: dict[str, np.ndarray] | None = None, ylabel: str = "EPE (px)") -> Path:
    """mean/sd: label -> (K,) values per keypoint; grouped bars with SD whiskers."""
    k = len(names)
    labels = list(mean)
    plt, fig, axes = _figure(1, 1, max(8.0, 0.32 * k * max(1, len(labels)) ** 0.5 + 3), 4.0)
    ax = axes[0][0]
    width = 0.8 / max(1, len(labels))
    x = np.arange(k)
    for c, label in enumerate(labels):
        err = None if sd is None else np.nan_to_num(sd[label])
        ax.bar(x + c * width - 0.4 + width / 2, np.nan_to_num(mean[label]), width, yerr=err,
               color=_COLORS[(c + 1) % len(_COLORS)], label=label, capsize=1.5, error_kw={"lw": 0.6})
    ax.set_xticks(x)
    ax.set_xticklabels([n.replace("_", " ") for n in names], rotation=70, fontsize=7, ha="right")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def angle_rmse_bars(path: Path, names: Sequence[str], rmse: dict[str, np.ndarray], limit: float = 5.0) -> Path:
    """rmse: method -> (A,) RMSE in degrees; a dashed line at the acceptance limit."""
    plt, fig, axes = _figure(1, 1, 9.0, 4.0)
    ax = axes[0][0]
    labels = list(rmse)
    width = 0.8 / max(1, len(labels))
    x = np.arange(len(names))
    for c, label in enumerate(labels):
        ax.bar(x + c * width - 0.4 + width / 2, np.nan_to_num(rmse[label]), width,
               color=_COLORS[(c + 1) % len(_COLORS)], label=label)
    ax.axhline(limit, color="red", ls="--", lw=0.8, label=f"{limit:g}° limit")
    ax.set_xticks(x)
    ax.set_xticklabels([n.replace("_", " ") for n in names], rotation=45, fontsize=8, ha="right")
    ax.set_ylabel("angle RMSE vs original (°)", fontsize=9)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)
