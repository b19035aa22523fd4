"""Multi-scale CenterFace: the frame at its own size, plus enlarged tiles where small faces are expected.

CenterFace's published WIDER FACE accuracy (0.935 / 0.924 / 0.875 easy / medium / hard) comes
from several scales; one pass at the original size gives 0.922 / 0.911 / 0.782, the loss being
the hard, small faces. A face of 10-15 px spans only 3-4 cells of the network's stride-4
output, and CenterFace then often gives it a weak heatmap peak below the threshold.

Where small faces are expected is read from the first pass itself: every weak candidate
(score >= :data:`WEAK_FACTOR` x threshold) smaller than :data:`SMALL_FACE` px marks its cell of
a :data:`CELL` px grid. Marked cells (with a margin, so a face on a cell border lies inside)
are enlarged ``upscale`` times (default 2) and seen by CenterFace again; a face found there
counts when its centre falls in a marked cell. ``zone="all"`` enlarges the whole frame instead
(about ``upscale``² times the cost). The results of both passes are merged by NMS.
"""

from __future__ import annotations

import numpy as np

from anonymotion.detect.boxes import iou_matrix
from anonymotion.detect.centerface import CenterFaceDetector, nms, size_threshold
from anonymotion.types import Regions

#: Weak candidates (score >= WEAK_FACTOR x threshold) mark where small faces may be.
WEAK_FACTOR = 0.5
#: Candidates smaller than this (longest side, px) count as small.
SMALL_FACE = 40.0
#: Side (px, frame) of the grid cells marked for a second look, and the margin added around them.
CELL, MARGIN = 128, 32
ZONES = ("weak", "all")
#: Default enlargement of the second look.
DEFAULT_UPSCALE = 2.0
#: Source name of the faces the first pass (the frame at its own size) found.
NATIVE = "centerface"


def marked_cells(boxes: np.ndarray, width: int, height: int, cell: int = CELL) -> np.ndarray:
    """(rows, cols) bool grid of ``cell`` px cells holding the centre of any (N, 4) box."""
    rows, cols = int(np.ceil(height / cell)), int(np.ceil(width / cell))
    grid = np.zeros((rows, cols), bool)
    if len(boxes):
        cx = ((boxes[:, 0] + boxes[:, 2]) / 2 // cell).astype(int).clip(0, cols - 1)
        cy = ((boxes[:, 1] + boxes[:, 3]) / 2 // cell).astype(int).clip(0, rows - 1)
        grid[cy, cx] = True
    return grid


def strips(grid: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of marked cells per grid row: (row, first col, last col inclusive)."""
    out = []
    for r, row in enumerate(grid):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c + 1 < len(row) and row[c + 1]:
                    c += 1
                out.append((r, start, c))
            c += 1
    return out


def _overlaps(boxes: np.ndarray, others: np.ndarray, iou: float = 0.3) -> np.ndarray:
    """(N,) bool: each of ``boxes`` overlaps (IoU >= ``iou``) one of ``others`` (both (k, 4) x1, y1, x2, y2)."""
    if not len(boxes) or not len(others):
        return np.zeros(len(boxes), bool)
    return (iou_matrix(boxes, others) >= iou).any(axis=1)


class MultiScaleCenterFace:
    """CenterFace at the frame's own size plus an enlarged second look at small-face areas.

    Regions found by the first pass are named "centerface" and keep its box and score; the
    enlarged look only adds faces the first pass did not find, named "centerface-ms".

    threshold / input_size: as :class:`CenterFaceDetector` (for the first pass). upscale:
    enlargement of the second look (1.5-3, default 2). zone: "weak" (cells with weak small
    candidates) or "all" (the whole frame enlarged).
    """

    name = "centerface-ms"

    def __init__(self, threshold: float | None = None, input_size: int | None = None,
                 upscale: float = DEFAULT_UPSCALE, zone: str = "weak") -> None:
        if zone not in ZONES:
            raise ValueError(f"multi-scale zone must be one of {', '.join(ZONES)}, not {zone!r}")
        if not 1.0 < upscale <= 3.0:
            raise ValueError(f"multi-scale upscale must be in (1, 3], got {upscale}")
        self.base = CenterFaceDetector(threshold=threshold, input_size=input_size)
        self.look = CenterFaceDetector(threshold=threshold, input_size=0)  # the enlarged look: no size cap
        self.threshold, self.input_size = self.base.threshold, self.base.input_size
        self.upscale, self.zone = float(upscale), zone

    def detect(self, rgb: np.ndarray) -> Regions:
        """Faces in ``rgb`` (H, W, 3) uint8 RGB from both passes; boxes in its pixels."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        h, w = rgb.shape[:2]
        t = self.threshold
        boxes, scores = self.base.candidates(rgb, t * WEAK_FACTOR)
        keep = scores >= np.maximum(size_threshold(boxes, t), t)
        found_b, found_s = [boxes[keep]], [scores[keep]]
        if self.zone == "all":
            b, s = self.look.candidates(rgb, t, upscale=self.upscale)
            found_b.append(b)
            found_s.append(s)
        else:
            sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
            grid = marked_cells(boxes[sizes < SMALL_FACE], w, h)
            for row, c1, c2 in strips(grid):
                b, s = self._look(rgb, row, c1, c2, grid)
                found_b.append(b)
                found_s.append(s)
        native_b, native_s = found_b[0], found_s[0]
        boxes = np.concatenate(found_b[1:]).reshape(-1, 4).astype(np.float32) if len(found_b) > 1 else \
            np.zeros((0, 4), np.float32)
        scores = np.concatenate(found_s[1:]).astype(np.float32) if len(found_s) > 1 else np.zeros(0, np.float32)
        if len(boxes):  # the enlarged look only adds faces the first pass did not find
            ok = scores >= size_threshold(boxes, t)
            boxes, scores = boxes[ok], scores[ok]
            keep = nms(boxes, scores)
            boxes, scores = boxes[keep], scores[keep]
            new = ~_overlaps(boxes, native_b)
            boxes, scores = boxes[new], scores[new]
        keep = nms(native_b, native_s) if len(native_b) else np.zeros(0, np.int64)
        native_b, native_s = native_b[keep], native_s[keep]
        n1, n2 = len(native_b), len(boxes)
        return Regions(boxes=np.concatenate([native_b, boxes]).astype(np.float32).reshape(-1, 4),
                       scores=np.concatenate([native_s, scores]).astype(np.float32),
                       track_ids=np.full((n1 + n2,), -1, np.int64), sources=(NATIVE,) * n1 + (self.name,) * n2)

    def _look(self, rgb: np.ndarray, row: int, c1: int, c2: int, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Faces centred in the marked cells ``c1..c2`` of ``row``, seen enlarged (frame px)."""
        h, w = rgb.shape[:2]
        x1, y1 = max(0, c1 * CELL - MARGIN), max(0, row * CELL - MARGIN)
        x2, y2 = min(w, (c2 + 1) * CELL + MARGIN), min(h, (row + 1) * CELL + MARGIN)
        b, s = self.look.candidates(np.ascontiguousarray(rgb[y1:y2, x1:x2]), self.threshold, upscale=self.upscale)
        if not len(b):
            return b, s
        b = b + np.array([x1, y1, x1, y1], np.float32)
        cx = ((b[:, 0] + b[:, 2]) / 2 // CELL).astype(int).clip(0, grid.shape[1] - 1)
        cy = ((b[:, 1] + b[:, 3]) / 2 // CELL).astype(int).clip(0, grid.shape[0] - 1)
        inside = (cy == row) & (cx >= c1) & (cx <= c2)
        return b[inside], s[inside]
