"""Pose over a video, streamed frame by frame, and the pose files users read.

:func:`pose_video` runs a pose backend over a video and returns :class:`VideoPoses`;
:func:`write_pose_outputs` writes ``*.pose.csv``, ``*.angles.csv`` and ``*.angles.png``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.errors import InputError
from anonymotion.io.video import iter_frames, probe
from anonymotion.kinematics.angles import angles_2d
from anonymotion.kinematics.angles3d import angles_3d
from anonymotion.pose.run import PoseCollector, VideoPoses
from anonymotion.pose.subject import SubjectSpec
from anonymotion.types import Poses

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class NoPersonError(InputError):
    """Pose found no person in any frame of the video."""


def pose_video(
    path: str | os.PathLike,
    *,
    backend: str = "mediapipe",
    subject: str | SubjectSpec | None = None,
    filter_hz: float | None = None,
    progress: Progress | None = None,
    overlay_path: str | os.PathLike | None = None,
    max_frames: int | None = None,
    require_person: bool = False,
) -> VideoPoses:
    """Run pose over ``path`` frame by frame (memory does not grow with video length).

    subject: None (whoever the model tracks), "auto", "X,Y" or "X1,Y1,X2,Y2" pixels (see
    :mod:`anonymotion.pose.subject`). filter_hz: zero-phase Butterworth low-pass cut-off
    (Hz) applied to the trajectories afterwards, None for raw keypoints. overlay_path:
    also write the video with the (raw) skeleton drawn. max_frames: stop after that many
    frames. require_person: raise NoPersonError when no frame has a person.
    """
    from anonymotion.pose.skeletons import draw_skeleton

    path = Path(path)
    info = probe(path)
    total = info.frame_count or int(round(info.duration * info.fps)) or 0
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    writer = None
    collector = PoseCollector(backend, subject)
    try:
        if overlay_path is not None:
            from anonymotion.io.writer import VideoWriter

            writer = VideoWriter(overlay_path, info.width, info.height, info.time_base, fps=info.fps)
        for frame in iter_frames(path, info, strict=max_frames is None):
            if max_frames is not None and frame.index >= max_frames:
                break
            pf = collector.add(frame.rgb, frame.t)
            if writer is not None:
                writer.write(draw_skeleton(frame.rgb, pf.xy, pf.score, names=collector.names),
                             frame.pts if frame.pts is not None else frame.index)
            if progress is not None:
                progress(len(collector), max(total, len(collector)))
        poses = collector.finish(path, filter_hz)
        if require_person and not poses.present.any():
            where = f" at the subject ({poses.subject})" if poses.subject and poses.subject != "auto" else ""
            raise NoPersonError(path, f"no person found{where} in any of its {len(poses.t)} frames")
        if writer is not None:
            writer.close()
            writer = None
    finally:
        collector.close()
        if writer is not None:
            writer.abort()
    return poses


def pose_angles(poses: Poses) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """2D angles (T, A) degrees, their confidence (T, A) and names, for poses in MediaPipe layout."""
    return angles_2d(poses.xy, poses.score, poses.names)


def write_pose_outputs(poses: Poses, prefix: str | os.PathLike, layout: str = "mediapipe") -> dict[str, Path]:
    """Write ``<prefix>.pose.csv``, ``<prefix>.angles.csv`` and ``<prefix>.angles.png``.

    Columns are documented in :mod:`anonymotion.report.tables`. layout: keypoints of the
    pose CSV as "mediapipe" (33), "coco17" or "body25" (neck and mid-hip derived); angles
    always come from the full MediaPipe set. Returns kind -> path.
    """
    from anonymotion.errors import ConfigError
    from anonymotion.pose.skeletons import LAYOUTS, to_layout
    from anonymotion.report.plots import angle_traces
    from anonymotion.report.tables import POSE_COLUMNS, pose_rows, write_csv

    if layout not in LAYOUTS:
        raise ConfigError(None, f"unknown keypoint layout {layout!r} (known: {', '.join(LAYOUTS)})")
    prefix = Path(prefix)
    lost = getattr(poses, "lost", None)
    xy, score, names = to_layout(poses.xy, poses.score, poses.names, layout)
    world = None if poses.world is None else to_layout(poses.world, poses.score, poses.names, layout)[0]
    out: dict[str, Path] = {}
    out["pose_csv"] = write_csv(Path(f"{prefix}.pose.csv"), POSE_COLUMNS,
                                pose_rows(poses.t, xy, score, names, world, lost), digits=4)
    ang, conf, names = pose_angles(poses)
    header = ["frame", "time"]
    cols = []
    for j, n in enumerate(names):
        header += [n, f"{n}_conf"]
        cols += [ang[:, j], conf[:, j]]
    if poses.world is not None:
        a3, n3 = angles_3d(poses.world, poses.names)
        header += [f"{n}_3d" for n in n3]
        cols += [a3[:, j] for j in range(a3.shape[1])]
    rows = ([i, float(poses.t[i])] + [c[i] for c in cols] for i in range(len(poses.t)))
    out["angles_csv"] = write_csv(Path(f"{prefix}.angles.csv"), header, rows, digits=3)
    out["angles_png"] = angle_traces(Path(f"{prefix}.angles.png"), poses.t, {"angle": ang}, names,
                                     title=Path(str(prefix)).name)
    return out
