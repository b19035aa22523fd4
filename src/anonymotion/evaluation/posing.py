"""Pose over a video, streamed frame by frame, and the pose files users read.

:func:`pose_persons` runs a pose backend over a video and returns every person with a
stable id (:class:`~anonymotion.pose.people.PersonsPoses`); :func:`pose_video` returns one
person's track (:class:`VideoPoses`: the subject, ``auto`` = the most visible person);
:func:`write_pose_outputs` writes ``*.pose.csv``, ``*.angles.csv`` and ``*.angles.png``
with a ``person`` column.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.errors import InputError
from anonymotion.io.damage import DecodeDamage
from anonymotion.io.video import iter_frames, probe
from anonymotion.kinematics.angles import angles_2d
from anonymotion.kinematics.angles3d import angles_3d
from anonymotion.pose.backend import DEFAULT_BACKEND, is_multi_person
from anonymotion.pose.people import PersonsCollector, PersonsPoses
from anonymotion.pose.run import PoseCollector, VideoPoses
from anonymotion.pose.subject import SubjectSpec, parse_subject
from anonymotion.types import Frame, Poses

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class NoPersonError(InputError):
    """Pose found no person in any frame of the video."""


def _total(info, max_frames: int | None) -> int:
    total = info.frame_count or int(round(info.duration * info.fps)) or 0
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    return total


def pose_persons(
    path: str | os.PathLike,
    *,
    backend: str = DEFAULT_BACKEND,
    filter_hz: float | None = None,
    progress: Progress | None = None,
    overlay_path: str | os.PathLike | None = None,
    max_frames: int | None = None,
    require_person: bool = False,
    **options: Any,
) -> PersonsPoses:
    """Every person over ``path``, each with a stable id (memory does not grow with video length).

    backend: a pose backend name (a single-person one gives at most one person per frame);
    options go to it (``num_poses``, ``detect_every``, ...). filter_hz: zero-phase
    Butterworth cut-off (Hz) applied afterwards, None for raw keypoints. overlay_path: also
    write the video with every person's skeleton and id drawn. max_frames: stop after that
    many frames. require_person: raise NoPersonError when no frame has a person.
    """
    from anonymotion.pose.skeletons import draw_persons

    path = Path(path)
    collector = PersonsCollector(backend, **options)

    def draw(rgb: np.ndarray, tracked: Any) -> np.ndarray:
        return draw_persons(rgb, tracked.persons.xy, tracked.persons.score, tracked.ids, names=collector.names)

    def check(poses: PersonsPoses) -> None:
        if require_person and not poses.present.any():
            raise NoPersonError(path, f"no person found in any of its {len(poses.t)} frames")

    return _pose_stream(path, collector, draw, check, filter_hz=filter_hz, progress=progress,
                        overlay_path=overlay_path, max_frames=max_frames)


def subject_poses(persons: PersonsPoses, subject: str | SubjectSpec | None = None) -> VideoPoses:
    """The subject's track (``auto`` when None); an all-NaN track when nobody matches."""
    spec = parse_subject(subject) or SubjectSpec("auto")
    found = persons.subject(spec)
    if found is not None:
        return found
    n, k = len(persons.t), len(persons.names)
    return VideoPoses(t=persons.t, xy=np.full((n, k, 2), np.nan, np.float32), score=np.zeros((n, k), np.float32),
                      names=persons.names, size=persons.size, world=np.full((n, k, 3), np.nan, np.float32),
                      path=persons.path, lost=np.zeros(n, bool), subject=spec.describe(),
                      filter_hz=persons.filter_hz)


def pose_video(
    path: str | os.PathLike,
    *,
    backend: str = DEFAULT_BACKEND,
    subject: str | SubjectSpec | None = None,
    filter_hz: float | None = None,
    progress: Progress | None = None,
    overlay_path: str | os.PathLike | None = None,
    max_frames: int | None = None,
    require_person: bool = False,
) -> VideoPoses:
    """One person's keypoints over ``path`` (streamed).

    With a multi-person backend (default): every person is posed and tracked, and the
    subject's track is returned (``subject`` None or "auto": the most visible person over
    the clip; "3": person id 3; "X,Y" / "X1,Y1,X2,Y2": the person at a point / in a box).
    With ``mediapipe-legacy``: the one person the model follows, or with ``subject`` the
    crop-following :class:`~anonymotion.pose.subject.SubjectFollower`.
    filter_hz, overlay_path, max_frames, require_person: as in :func:`pose_persons`.
    """
    from anonymotion.pose.skeletons import draw_skeleton

    if is_multi_person(backend):
        persons = pose_persons(path, backend=backend, filter_hz=filter_hz, progress=progress,
                               overlay_path=overlay_path, max_frames=max_frames, require_person=require_person)
        poses = subject_poses(persons, subject)
        if require_person and not poses.present.any():
            raise NoPersonError(path, f"no person found at the subject ({poses.subject}) in any of its "
                                      f"{len(poses.t)} frames")
        return poses
    path = Path(path)
    collector = PoseCollector(backend, subject)

    def draw(rgb: np.ndarray, pf: Any) -> np.ndarray:
        return draw_skeleton(rgb, pf.xy, pf.score, names=collector.names)

    def check(poses: VideoPoses) -> None:
        if require_person and not poses.present.any():
            where = f" at the subject ({poses.subject})" if poses.subject and poses.subject != "auto" else ""
            raise NoPersonError(path, f"no person found{where} in any of its {len(poses.t)} frames")

    return _pose_stream(path, collector, draw, check, filter_hz=filter_hz, progress=progress,
                        overlay_path=overlay_path, max_frames=max_frames)


def _pose_stream(path: Path, collector: Any, draw: Callable[[np.ndarray, Any], np.ndarray],
                 check: Callable[[Any], None], *, filter_hz: float | None, progress: Progress | None,
                 overlay_path: str | os.PathLike | None, max_frames: int | None) -> Any:
    """Feed every frame of ``path`` to ``collector`` (``add(rgb, t)``, ``finish``, ``close``) and return
    what it finishes with; with ``overlay_path`` also write each frame as ``draw(rgb, added)`` returns it.
    ``check(poses)`` may raise before the overlay is kept (it is then removed)."""
    info = probe(path)
    total = _total(info, max_frames)
    writer = None
    try:
        if overlay_path is not None:
            from anonymotion.io.writer import VideoWriter

            writer = VideoWriter(overlay_path, info.width, info.height, info.time_base, fps=info.fps)
        for frame in _frames(path, info, max_frames):
            added = collector.add(frame.rgb, frame.t)
            if writer is not None:
                writer.write(draw(frame.rgb, added), frame.pts if frame.pts is not None else frame.index)
            if progress is not None:
                progress(len(collector), max(total, len(collector)))
        poses = collector.finish(path, filter_hz)
        check(poses)
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


def _person_tracks(poses: Poses | PersonsPoses) -> list[tuple[int, Poses, np.ndarray, np.ndarray]]:
    """(person id, track, frames to write, lost flags) for every person in ``poses``.

    A single track (:class:`VideoPoses`) is person 1 on every frame (its ``lost`` flags
    kept); a :class:`PersonsPoses` gives each person on the frames where it is present.
    """
    if isinstance(poses, PersonsPoses):
        out = []
        for pid, present in zip(poses.ids, poses.present):
            track = poses.person(int(pid))
            out.append((int(pid), track, present, np.zeros(len(poses.t), bool)))
        return out
    lost = getattr(poses, "lost", None)
    n = len(poses.t)
    return [(1, poses, np.ones(n, bool), lost if lost is not None else np.zeros(n, bool))]


def write_pose_outputs(poses: Poses | PersonsPoses, prefix: str | os.PathLike, layout: str = "mediapipe",
                       subject: str | SubjectSpec | None = None) -> dict[str, Path]:
    """Write ``<prefix>.pose.csv``, ``<prefix>.angles.csv`` and ``<prefix>.angles.png``.

    Columns are documented in :mod:`anonymotion.report.tables`; both CSVs carry a ``person``
    column (the person id; 1 for a single track) and hold, for every person, the frames where
    it was found (a single track: every frame, with its ``lost`` flag). Angles are computed
    per person. layout: keypoints of the pose CSV as "mediapipe" (33), "coco17" or "body25"
    (neck and mid-hip derived); angles always come from the full MediaPipe set. The plot
    shows the subject's angles (``auto``: the most visible person). Returns kind -> path.
    """
    from anonymotion.errors import ConfigError
    from anonymotion.pose.skeletons import LAYOUTS, to_layout
    from anonymotion.report.plots import angle_traces
    from anonymotion.report.tables import POSE_COLUMNS, pose_rows, write_csv

    if layout not in LAYOUTS:
        raise ConfigError(None, f"unknown keypoint layout {layout!r} (known: {', '.join(LAYOUTS)})")
    prefix = Path(prefix)
    tracks = _person_tracks(poses)

    def pose_csv_rows():
        for pid, track, keep, lost in tracks:
            xy, score, names = to_layout(track.xy, track.score, track.names, layout)
            world = None if track.world is None else to_layout(track.world, track.score, track.names, layout)[0]
            yield from pose_rows(track.t, xy, score, names, world, lost, person=pid, frames=np.flatnonzero(keep))

    out: dict[str, Path] = {}
    out["pose_csv"] = write_csv(Path(f"{prefix}.pose.csv"), POSE_COLUMNS, pose_csv_rows(), digits=4)
    header: list[str] = []
    angle_rows: list[list[Any]] = []
    for pid, track, keep, _ in tracks:
        ang, conf, anames = pose_angles(track)
        cols = []
        header = ["frame", "time", "person"]
        for j, n in enumerate(anames):
            header += [n, f"{n}_conf"]
            cols += [ang[:, j], conf[:, j]]
        if track.world is not None:
            a3, n3 = angles_3d(track.world, track.names)
            header += [f"{n}_3d" for n in n3]
            cols += [a3[:, j] for j in range(a3.shape[1])]
        angle_rows += [[i, float(track.t[i]), pid] + [c[i] for c in cols] for i in np.flatnonzero(keep)]
    angle_rows.sort(key=lambda r: (r[0], r[2]))
    if not header:
        header = ["frame", "time", "person"]
    out["angles_csv"] = write_csv(Path(f"{prefix}.angles.csv"), header, angle_rows, digits=3)
    plotted = subject_poses(poses, subject) if isinstance(poses, PersonsPoses) else poses
    ang, _, anames = pose_angles(plotted)
    title = Path(str(prefix)).name + (f" ({plotted.subject})" if isinstance(poses, PersonsPoses) else "")
    out["angles_png"] = angle_traces(Path(f"{prefix}.angles.png"), plotted.t, {"angle": ang}, anames, title=title)
    return out


def _frames(path: Path, info: Any, max_frames: int | None) -> Iterator[Frame]:
    """The frames to pose (the first ``max_frames`` when given). A packet the decoder rejects
    is counted as damage, not a failure (an original the user accepted as damaged is measured
    on the frames that were anonymized); damaged frames are named in a warning."""
    damage = DecodeDamage()
    for frame in iter_frames(path, info, strict=max_frames is None, damage=damage):
        if max_frames is not None and frame.index >= max_frames:
            return
        yield frame
    if damage:
        log.warning("%s: %s; poses on those frames may be wrong", path, damage.describe())
