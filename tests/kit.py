"""The shared test kit: short real clips, hand-built persons, regions from boxes, polling with a deadline.

Tests import it as a module (``tests/`` is on pytest's ``pythonpath``)::

    from kit import detect_once, person_track, regions, standing_person, trim_clip, wait_until

The fixtures of ``tests/conftest.py`` (``shared_data``, ``make_clip``, ``clip_factory``) give the
inputs; these helpers shape them. Nothing here replaces a model: the persons are keypoint
arrays for the pure-numpy code (angles, metrics, alteration, subject logic), not fake detections
for a test that claims to test a detector.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

Box = Sequence[float]  # x1, y1, x2, y2 in pixels


# --------------------------------------------------------------------------- clips

def trim_clip(src: Path, dst: Path, frames: int | None = None, *, start: int = 0, scale: float = 1.0,
              crf: int = 12, transform: Callable[[int, np.ndarray], np.ndarray] | None = None) -> Path:
    """Frames ``start`` .. ``start + frames - 1`` of the video ``src`` (all from ``start`` when
    ``frames`` is None) re-encoded to H.264 ``dst`` with the project's writer (PyAV, no tags).

    Timestamps are the source's (same time base and pts, so a cut from frame 80 starts at its
    original time). scale: resize factor (sizes rounded down to even pixels, INTER_AREA).
    crf: x264 quality (12 = near-lossless, enough for the detectors and the pose model to see
    what they see in the source). transform(index, rgb) -> rgb replaces each frame (index is
    the source frame index; the frame is already scaled). Returns ``dst``.
    """
    from anonymotion.io.video import iter_frames, probe
    from anonymotion.io.writer import VideoWriter

    info = probe(src)
    writer = None
    try:
        for frame in iter_frames(src, info, strict=False):
            if frame.index < start:
                continue
            if frames is not None and frame.index >= start + frames:
                break
            rgb = frame.rgb  # upright (rotation applied by iter_frames)
            if scale != 1.0:
                import cv2

                h, w = rgb.shape[:2]
                size = (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2)
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            if transform is not None:
                rgb = transform(frame.index, rgb)
            if writer is None:
                writer = VideoWriter(dst, rgb.shape[1], rgb.shape[0], info.time_base, fps=info.fps, crf=crf)
            writer.write(np.ascontiguousarray(rgb), frame.pts)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is None:
        raise ValueError(f"{src}: no frame at index {start} or later")
    writer.close()
    return dst


# --------------------------------------------------------------------------- persons

#: Keypoints of an upright person facing the camera, in torso lengths (shoulder line to hip
#: line) from the hip centre: x to image right (the subject's left), y down. Shoulders and hips
#: are 0.5 torso wide, arms hang straight along the trunk, legs go straight down, feet point
#: sideways outwards: every 2-D joint angle of :mod:`anonymotion.kinematics.angles` is 0 (knee,
#: elbow, shoulder, ankle, trunk, neck).
_STANDING: dict[str, tuple[float, float]] = {
    "nose": (0.0, -1.25),
    "left_eye_inner": (0.03, -1.31), "left_eye": (0.05, -1.32), "left_eye_outer": (0.07, -1.31),
    "right_eye_inner": (-0.03, -1.31), "right_eye": (-0.05, -1.32), "right_eye_outer": (-0.07, -1.31),
    "left_ear": (0.1, -1.3), "right_ear": (-0.1, -1.3),
    "mouth_left": (0.04, -1.18), "mouth_right": (-0.04, -1.18),
    "left_shoulder": (0.25, -1.0), "right_shoulder": (-0.25, -1.0),
    "left_elbow": (0.25, -0.5), "right_elbow": (-0.25, -0.5),
    "left_wrist": (0.25, 0.0), "right_wrist": (-0.25, 0.0),
    "left_pinky": (0.27, 0.1), "right_pinky": (-0.27, 0.1),
    "left_index": (0.25, 0.12), "right_index": (-0.25, 0.12),
    "left_thumb": (0.22, 0.08), "right_thumb": (-0.22, 0.08),
    "left_hip": (0.25, 0.0), "right_hip": (-0.25, 0.0),
    "left_knee": (0.25, 0.6), "right_knee": (-0.25, 0.6),
    "left_ankle": (0.25, 1.2), "right_ankle": (-0.25, 1.2),
    "left_heel": (0.25, 1.25), "right_heel": (-0.25, 1.25),
    "left_foot_index": (0.4, 1.2), "right_foot_index": (-0.4, 1.2),
}


def standing_person(cx: float = 100.0, hip_y: float = 200.0, torso: float = 100.0,
                    names: Sequence[str] | None = None) -> np.ndarray:
    """(K, 2) float32 pixel keypoints of an upright person facing the camera (see ``_STANDING``).

    cx, hip_y: the hip centre in pixels; torso: shoulder-to-hip height in pixels (shoulders
    and hips 0.5 torso apart, eyes 1.32 torso above the hips, heels 1.25 below). names: the
    keypoint layout (default MediaPipe's 33); names without a standing position are NaN.
    """
    if names is None:
        from anonymotion.pose.skeletons import MEDIAPIPE_33 as names
    xy = np.full((len(names), 2), np.nan, np.float32)
    for i, name in enumerate(names):
        if name in _STANDING:
            dx, dy = _STANDING[name]
            xy[i] = (cx + dx * torso, hip_y + dy * torso)
    return xy


def person_track(xy: np.ndarray, *, fps: float = 25.0, t: np.ndarray | None = None,
                 size: tuple[int, int] = (640, 480), score: float = 0.95, names: Sequence[str] | None = None,
                 world: np.ndarray | None = None) -> Any:
    """A :class:`anonymotion.types.Poses` from keypoints ``xy`` (T, K, 2) px (or one (K, 2) pose
    for a one-frame track) at ``fps`` frames per second, or at the times ``t`` (T,) s when given.

    score: every finite keypoint's score (NaN keypoints score 0). size: (width, height) px.
    world: (T, K, 3) metres; default: the pixels / 500 with z = 0 (a flat person 1 px = 2 mm).
    """
    from anonymotion.pose.skeletons import MEDIAPIPE_33
    from anonymotion.types import Poses

    xy = np.asarray(xy, np.float32)
    if xy.ndim == 2:
        xy = xy[None]
    finite = np.isfinite(xy).all(axis=-1)
    if world is None:
        world = np.concatenate([xy / 500.0, np.zeros(xy.shape[:2] + (1,), np.float32)], axis=-1)
    times = np.arange(len(xy)) / float(fps) if t is None else np.asarray(t, np.float64)
    return Poses(t=times, xy=xy, score=np.where(finite, score, 0.0).astype(np.float32),
                 names=tuple(names or MEDIAPIPE_33), size=size, world=np.asarray(world, np.float32))


# --------------------------------------------------------------------------- regions

def regions(*boxes: Box, scores: float | Sequence[float] = 0.9, track_ids: int | Sequence[int] | None = None,
            source: str = "test", mask: np.ndarray | None = None) -> Any:
    """:class:`anonymotion.types.Regions` from boxes (x1, y1, x2, y2 px).

    scores: one score for all or one per box. track_ids: None numbers the boxes 0, 1, ...
    (each its own track); an int gives all the same id (-1 = untracked, as detectors report).
    mask: an optional (H, W) bool pixel mask (``regions(mask=m)`` is a mask with no boxes).
    """
    from anonymotion.types import Regions

    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    n = len(b)
    ids = np.arange(n) if track_ids is None else np.broadcast_to(np.asarray(track_ids), (n,))
    return Regions(b, np.broadcast_to(np.asarray(scores, np.float32), (n,)).copy(), np.asarray(ids, np.int64).copy(),
                   (source,) * n, mask=mask)


def detect_once(source: Any, rgb: np.ndarray, t: float = 0.0) -> Any:
    """The Regions a real region source (HeadSource, BodySource, ...) finds in one (H, W, 3) RGB
    frame at time ``t`` s; the source (and its model) is closed afterwards, also on error."""
    try:
        return source.detect(rgb, t)
    finally:
        source.close()


# --------------------------------------------------------------------------- waiting

def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.1, what: str | None = None) -> T:
    """Call ``predicate`` every ``interval`` s until it returns something truthy; return that.

    Raises TimeoutError naming ``what`` (default: the predicate's name) and the last value
    after ``timeout`` seconds, so a regression fails the test instead of hanging it. An
    exception from the predicate (e.g. "the server process died") propagates at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(predicate, "__name__", "condition")
            raise TimeoutError(f"{name} still not true after {timeout:g} s (last value: {value!r})")
        time.sleep(interval)
