"""Core data types shared by every stage: frozen dataclasses over numpy arrays.

Conventions: pixel coordinates are in the *upright* frame (rotation applied), x to the
right and y down, as float32; times are seconds from the first frame as float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    (None when the container gives none).
    """

    index: int
    t: float
    pts: int | None
    time_base: Fraction
    rgb: np.ndarray


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
    landmarks: optional (N, 5, 2) float32 x, y in pixels of the five face landmarks in image
    order: the eye on the image's left, the eye on its right, the nose tip, the mouth corner on
    the left, the one on the right; NaN rows for regions whose detector gives none.
    """

    boxes: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray
    sources: tuple[str, ...]
    mask: np.ndarray | None = None
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

    def to_records(self) -> list[dict]:
        """JSON-friendly list of regions (box rounded to 0.1 px)."""
        return [
            {
                "box": [round(float(v), 1) for v in self.boxes[i]],
                "score": round(float(self.scores[i]), 4),
                "track_id": int(self.track_ids[i]),
                "source": self.sources[i],
            }
            for i in range(len(self))
        ]


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
