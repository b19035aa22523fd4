"""Triangulate the persons of synchronised, calibrated videos: the Python API behind ``triangulate``.

Streams all views together (one frame per view in memory), runs a person source on each
view's frame, associates persons across views, triangulates and follows them in 3D.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from anonymotion.errors import InputError
from anonymotion.io.video import probe
from anonymotion.multiview.association import Person2D
from anonymotion.multiview.calibration import Calibration, read_calibration
from anonymotion.multiview.camera import Camera
from anonymotion.multiview.persons import PersonSource, make_person_source
from anonymotion.multiview.results import MultiviewResult
from anonymotion.multiview.sync import common_frame_count, iter_synchronised
from anonymotion.multiview.tracking import MultiviewTriangulator, TriangulationConfig
from anonymotion.types import VideoInfo

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def cameras_for_videos(calibration: Calibration, videos: Sequence[Path],
                       infos: Sequence[VideoInfo]) -> tuple[Camera, ...]:
    """Each video's camera (matched by name or order), adapted to the video's frame size."""
    cams = calibration.for_videos(list(videos))
    return tuple(cam.for_video(info.width, info.height, source=video)
                 for cam, video, info in zip(cams, videos, infos))


def triangulate(
    videos: Sequence[str | os.PathLike],
    calibration: Calibration | str | os.PathLike,
    *,
    backend: str | None = None,
    config: TriangulationConfig | None = None,
    max_frames: int | None = None,
    offsets: Sequence[float] | None = None,
    progress: Progress | None = None,
    sources: Sequence[PersonSource] | None = None,
) -> MultiviewResult:
    """3D persons of ``videos`` (one per camera of ``calibration``, matched by name or order).

    Frames are synchronised by timestamp (common span; a frame missing in a view leaves that
    view out of its slot). ``backend`` names the pose model run on every view (default: the
    multi-person backend when installed; see :mod:`anonymotion.pose.backend`); ``sources`` may give ready-made
    person sources instead (one per video, closed here). Returns a
    :class:`~anonymotion.multiview.results.MultiviewResult` in world mm.
    """
    paths = [Path(v) for v in videos]
    if len(paths) < 2:
        raise InputError(paths[0] if paths else None, "triangulation needs at least two videos")
    cal = calibration if isinstance(calibration, Calibration) else read_calibration(calibration)
    infos = [probe(p) for p in paths]
    cameras = cameras_for_videos(cal, paths, infos)
    made = list(sources) if sources is not None else []
    try:
        while len(made) < len(paths):
            made.append(make_person_source(backend))
        engine = MultiviewTriangulator(cameras, made[0].names, config, up=cal.up)
        total = common_frame_count(infos)
        if max_frames:
            total = min(total, max_frames) if total else max_frames
        for slot in iter_synchronised(paths, infos, offsets=offsets, max_frames=max_frames):
            views: list[list[Person2D] | None] = []
            for frame, source in zip(slot.frames, made):
                views.append(None if frame is None else source.persons(frame.rgb, frame.t))
            engine.update(slot.t, views)
            if progress is not None:
                progress(slot.index + 1, total)
    finally:
        for source in made:
            source.close()
    result = engine.finish()
    if not result.persons:
        log.warning("no person was seen in two views at once: nothing triangulated")
    return _with_videos(result, paths)


def _with_videos(result: MultiviewResult, paths: list[Path]) -> MultiviewResult:
    from dataclasses import replace

    return replace(result, videos=tuple(paths))
