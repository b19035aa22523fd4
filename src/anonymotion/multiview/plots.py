"""Figure of one triangulated person: the 3D skeleton at a few frames and the 3D angle traces (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from anonymotion.io.trc import to_y_up
from anonymotion.multiview.results import MultiviewResult, Person3D
from anonymotion.pose.skeletons import MEDIAPIPE_EDGES
from anonymotion.report.tables import write_atomic

_TRACES = ("left_knee_flexion", "right_knee_flexion", "left_elbow_flexion", "right_elbow_flexion",
           "left_femur_flexion", "right_femur_flexion", "left_shoulder_flexion", "right_shoulder_flexion",
           "neck_flexion")


def snapshot_frames(present: np.ndarray, count: int = 4) -> list[int]:
    """Up to ``count`` frame indices spread evenly over the frames where the person is present."""
    idx = np.flatnonzero(present)
    if idx.size == 0:
        return []
    return sorted({int(idx[int(round(q))]) for q in np.linspace(0, idx.size - 1, min(count, idx.size))})


def person_figure(path: Path, result: MultiviewResult, person: Person3D, angles: np.ndarray,
                  angle_names: Sequence[str], snapshots: int = 4) -> Path:
    """Top row: the skeleton (Y-up view, metres) at evenly spread frames; below: angle traces (degrees)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    frames = snapshot_frames(person.present, snapshots)
    pts = to_y_up(person.points, result.up) / 1000.0
    names = result.names
    edges = [(names.index(a), names.index(b)) for a, b in MEDIAPIPE_EDGES if a in names and b in names]
    fig = plt.figure(figsize=(13, 8.5))
    ncol = max(1, len(frames))
    finite = pts[np.isfinite(pts).all(-1)]
    lo, hi = (finite.min(0), finite.max(0)) if finite.size else (np.zeros(3), np.ones(3))
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.5)
    for c, f in enumerate(frames):
        ax = fig.add_subplot(2, ncol, c + 1, projection="3d")
        p = pts[f]
        for a, b in edges:
            if np.isfinite(p[[a, b]]).all():
                colour = "#d95f02" if "left" in names[a] or "left" in names[b] else "#1b9e77"
                ax.plot(p[[a, b], 0], p[[a, b], 2], p[[a, b], 1], color=colour, lw=1.5)
        ok = np.isfinite(p).all(-1)
        ax.scatter(p[ok, 0], p[ok, 2], p[ok, 1], s=4, color="#222222")
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[2] - half, centre[2] + half)
        ax.set_zlim(centre[1] - half, centre[1] + half)
        ax.set_title(f"t = {result.t[f]:.2f} s", fontsize=9)
        ax.set_xlabel("X (m)", fontsize=7)
        ax.set_ylabel("Z (m)", fontsize=7)
        ax.set_zlabel("Y up (m)", fontsize=7)
        ax.tick_params(labelsize=6)
    ax = fig.add_subplot(2, 1, 2)
    for name in _TRACES:
        if name in angle_names:
            ax.plot(result.t, angles[:, list(angle_names).index(name)], lw=1.0, label=name.replace("_", " "))
    ax.set_xlabel("time (s)", fontsize=9)
    ax.set_ylabel("degrees", fontsize=9)
    ax.legend(fontsize=7, ncol=3, loc="best")
    ax.set_title(f"{person.id}: 3D joint angles (triangulated)", fontsize=10)
    fig.tight_layout()
    write_atomic(Path(path), lambda fh: fig.savefig(fh, format="png", dpi=80), mode="wb")
    plt.close(fig)
    return Path(path)
