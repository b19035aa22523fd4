"""Face audit bookkeeping: one record per original face-frame, distinct faces, leak runs, rates.

Definitions (DESIGN.md, Metric definitions: Privacy); whether a face-frame is covered is
decided in :mod:`anonymotion.audit.coverage` (detail left, not changed pixels).

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

from anonymotion.detect.boxes import box_sizes, iou_matrix  # noqa: F401 - re-exported

#: Face size bins (longer box side, px): "<32" below 32, "32-96" from 32 to 96 inclusive, ">96" above.
SIZE_BINS = ("<32", "32-96", ">96")


@dataclass(frozen=True)
class FaceCheck:
    """One original face in one frame and how the anonymization treated it.

    box: x1, y1, x2, y2 in pixels of the original frame; size: longer box side (px); source:
    the audit detector(s) that found it ("centerface+yunet" ...); track: id of the distinct
    face. status: "covered", "leaked", "no-detail" (the original carries no identifiable
    detail; reason "small", "pixelated" or "blurred") or "one-frame" (its track showed identifiable
    detail in one frame only; reason: the status it would have had) or "not-verified" (it leaked, but
    the close look (:mod:`anonymotion.audit.close_look`) found no face in any leaked frame of its
    track; reason "leaked"). verified / look_score: the close look's answer and best score (leaked
    face-frames only). ssim / detail: SSIM and detail left of
    the anonymized box against the original; fine / blockiness: the original's fine detail and
    mosaic score (see :mod:`anonymotion.audit.detail`).
    """

    frame: int
    t: float
    box: tuple[float, float, float, float]
    size: float
    score: float
    source: str
    track: int
    status: str
    reason: str | None = None
    ssim: float | None = None
    detail: float | None = None
    fine: float = 0.0
    blockiness: float = 0.0
    verified: bool | None = None
    look_score: float | None = None

    @property
    def leaked(self) -> bool:
        return self.status == "leaked"

    @property
    def judged(self) -> bool:
        """The face carried identifiable detail and was seen in more than one frame: covered/leaked applies."""
        return self.status in ("covered", "leaked")

    def to_json(self) -> dict:
        d = asdict(self)
        d["box"] = [round(v, 1) for v in self.box]
        d["t"] = round(self.t, 4)
        d["size"] = round(self.size, 1)
        d["score"] = round(self.score, 4)
        for k in ("ssim", "detail", "fine", "blockiness", "look_score"):
            d[k] = None if d[k] is None else round(d[k], 4)
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


def size_bin(size: float) -> str:
    """Name of the :data:`SIZE_BINS` bin holding a face of ``size`` px."""
    if size < 32.0:
        return "<32"
    return "32-96" if size <= 96.0 else ">96"


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
    """Per size bin (and "all"): judged face-frames (those with identifiable detail), leaked ones, their ratio."""
    counts = {name: [0, 0] for name in (*SIZE_BINS, "all")}
    for c in checks:
        if not c.judged:
            continue
        for name in (size_bin(c.size), "all"):
            counts[name][0] += 1
            counts[name][1] += int(c.leaked)
    return {name: {"face_frames": n, "leaked": k, "rate": (k / n if n else 0.0)} for name, (n, k) in counts.items()}
