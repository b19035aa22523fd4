"""Core data types shared by every stage: frozen dataclasses over numpy arrays.

Conventions: pixel coordinates are in the *upright* frame (rotation applied), x to the
right and y down, as float32; times are seconds from the first frame as float.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What probing a video file found, before any frame is decoded.

    width/height are the upright display size (after rotation), in pixels.
    """

    path: Path
    container: str
    codec: str
    width: int
    height: int
    rotation: int  # degrees counter-clockwise in the display matrix: 0, 90, 180 or 270
    fps: float  # average frame rate (frames/s); timing itself comes from pts
    frame_count: int  # from the stream header; 0 when the container does not say
    duration: float  # seconds; 0.0 when unknown
    pix_fmt: str
    time_base: Fraction
    has_audio: bool
    stream_kinds: tuple[str, ...]  # e.g. ("video", "audio", "data")
    tags: dict[str, str] = field(default_factory=dict)  # container tags as found


@dataclass(frozen=True)
class Frame:
    """One decoded, upright frame.

    rgb: (H, W, 3) uint8. t: seconds since the first frame. pts in time_base units
    (None when the container gives none). damaged: the decoder found errors in this frame's
    data and concealed them, or data it depends on was lost (see :mod:`anonymotion.io.damage`).
    """

    index: int
    t: float
    pts: int | None
    time_base: Fraction
    rgb: np.ndarray
    damaged: bool = False


@dataclass(frozen=True)
class Regions:
    """Regions to anonymize in one frame.

    boxes: (N, 4) float32 x1, y1, x2, y2 in pixels (before --mask-scale).
    scores: (N,) float32 detector confidence in [0, 1] (held regions keep their last score).
    track_ids: (N,) int64, stable across frames for one face (-1 when untracked).
    sources: what found each region: a detector name ("centerface", "yunet", "blazeface",
    "pose-head", "held", ...) or, for a face found by several detectors of a union, their
    names joined by "+" in a fixed order (e.g. "centerface+yunet").
    mask: optional (H, W) bool pixel mask (e.g. person segmentation) anonymized in addition.
    persons: optional (N,) int64 person id of each box (pose-based sources; -1 = unknown).
    mask_parts: what ``mask`` is made of, for the regions log: one (person id, (x1, y1, x2, y2)
    bounding box px, pixel count) per person mask (not anonymized as boxes).
    landmarks: optional (N, 5, 2) float32 x, y in pixels of the five face landmarks in image
    order: the eye on the image's left, the eye on its right, the nose tip, the mouth corner on
    the left, the one on the right; NaN rows for regions whose detector gives none.
    """

    boxes: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray
    sources: tuple[str, ...]
    mask: np.ndarray | None = None
    persons: np.ndarray | None = None
    mask_parts: tuple[tuple[int, tuple[float, float, float, float], int], ...] = ()
    landmarks: np.ndarray | None = None

    @staticmethod
    def empty() -> "Regions":
        return Regions(
            boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros((0,), np.float32),
            track_ids=np.zeros((0,), np.int64),
            sources=(),
        )

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def landmarks_or_nan(self) -> np.ndarray:
        """(N, 5, 2) float32 landmarks, all NaN when this Regions carries none."""
        if self.landmarks is None:
            return np.full((len(self), 5, 2), np.nan, np.float32)
        return np.asarray(self.landmarks, np.float32).reshape(len(self), 5, 2)

    def take(self, keep: np.ndarray) -> "Regions":
        """The regions selected by ``keep`` ((N,) bool or int indices), mask unchanged."""
        idx = np.arange(len(self))[keep]
        return replace(self, boxes=self.boxes[idx], scores=self.scores[idx], track_ids=self.track_ids[idx],
                       sources=tuple(self.sources[i] for i in idx),
                       persons=None if self.persons is None else self.persons[idx],
                       landmarks=None if self.landmarks is None else self.landmarks[idx])

    def to_records(self) -> list[dict]:
        """JSON-friendly list of regions (box and landmarks rounded to 0.1 px); ``person`` where
        known; "landmarks": five [x, y] pairs in image order (eye left, eye right, nose, mouth
        left, mouth right) where known; then one record per person mask (``"mask": true``, its
        bounding box and ``pixels``)."""
        marks = self.landmarks_or_nan()
        out = []
        for i in range(len(self)):
            rec = {
                "box": [round(float(v), 1) for v in self.boxes[i]],
                "score": round(float(self.scores[i]), 4),
                "track_id": int(self.track_ids[i]),
                "source": self.sources[i],
            }
            if self.persons is not None and int(self.persons[i]) >= 0:
                rec["person"] = int(self.persons[i])
            if np.isfinite(marks[i]).all():
                rec["landmarks"] = [[round(float(x), 1), round(float(y), 1)] for x, y in marks[i]]
            out.append(rec)
        for person, box, pixels in self.mask_parts:
            out.append({"box": [round(float(v), 1) for v in box], "source": "pose-body", "person": int(person),
                        "mask": True, "pixels": int(pixels)})
        return out


@dataclass(frozen=True)
class Poses:
    """Keypoints of one person over a video.

    t: (T,) seconds. xy: (T, K, 2) float32 pixels (NaN where no person).
    score: (T, K) float32 visibility/confidence in [0, 1] (0 where no person).
    world: optional (T, K, 3) float32 metres, hip-centred (MediaPipe world landmarks).
    names: K keypoint names. size: (width, height) of the frames in pixels.
    """

    t: np.ndarray
    xy: np.ndarray
    score: np.ndarray
    names: tuple[str, ...]
    size: tuple[int, int]
    world: np.ndarray | None = None
