"""A closer look: before a face counts as leaked, is it still a face when seen up close?

The audit's finder searches whole frames at low thresholds, enlarged, with two detector
families, so as to miss no face. At those settings the two families sometimes agree on
something that is not a face at all: on ``street_720p50.avi`` a woman's hands holding a phone
at her chest (frames 156 and 158, 25-31 px), on ``lab_single/cam01.mp4`` a grey case on the floor
at the back (frames 37-47, 32 px), and on backs of heads, legs and chairs among the street's
crowd. An audit that fails outputs on those is not believed.

So each leaked face-frame gets a second, closer look: a square of :data:`CONTEXT` times the
face's size around it (the head and its surroundings), resized so that the face is
:data:`LOOK_PX` px across (a size at which both detectors are far more reliable than at
20-30 px), is shown to each of the finder's families at the finder's own threshold. The
face-frame is *verified* when one of them finds a face there (IoU >= :data:`MATCH_IOU` with the
face's box). A face whose track is verified in none of its leaked frames is reported apart
("not-verified", frames and boxes in audit.json), not as a leak. Residual faces that would
fail get the same look on the anonymized frame.

Measured (``benchmarks/audit_calibration.py``) on the crf-18 re-encode of the whole street clip,
where every judged face-frame leaks: 737 of 812 kept, 75 set aside; on their contact sheet those
are backs of heads, hands, raised hands and phones hiding a face, a coat seen from behind, a patch
of pavement and a few heads in the dark too blurred to tell. The lab clip's 111 face-frames of
real faces are all kept (up close CenterFace scores them a median 0.78, YuNet 0.83), its 10 of the
case none (CenterFace 0-0.11, YuNet 0-0.38). A real face neither detector recognises even at 64
px would be set aside too: it is listed, never hidden. Cost: two detector runs on a 192 px
square per unchanged face-frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anonymotion.detect.boxes import iou_matrix

#: The face is resized to this many px across (longer side) for the closer look.
LOOK_PX = 64.0
#: Side of the square looked at, in face sizes (the face in its middle).
CONTEXT = 3.0
#: A detection verifies the face when it overlaps the face's box at least this much (IoU).
MATCH_IOU = 0.3


@dataclass(frozen=True)
class LookResult:
    """The close look at one face: verified or not, and the best score any family gave there."""

    verified: bool
    score: float


def square_around(rgb: np.ndarray, box: np.ndarray | tuple, context: float = CONTEXT,
                  face_px: float = LOOK_PX) -> tuple[np.ndarray, np.ndarray]:
    """The (S, S, 3) square of ``context`` face sizes around ``box`` (x1, y1, x2, y2 px of ``rgb``,
    (H, W, 3) uint8), resized so the face is ``face_px`` across (S = context x face_px, edges
    replicated), and the box in the square's pixels ((4,) float32)."""
    import cv2

    x1, y1, x2, y2 = (float(v) for v in box)
    size = max(x2 - x1, y2 - y1, 1.0)
    half = context * size / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    pad = int(np.ceil(half)) + 2
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    top, left = int(round(cy - half)) + pad, int(round(cx - half)) + pad
    n = max(1, int(round(2 * half)))
    side = max(1, int(round(context * face_px)))
    scale = side / n
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    square = cv2.resize(np.ascontiguousarray(padded[top:top + n, left:left + n]), (side, side), interpolation=interp)
    ox, oy = left - pad, top - pad
    inside = (np.array([x1 - ox, y1 - oy, x2 - ox, y2 - oy], np.float32) * scale).astype(np.float32)
    return square, inside


class CloseLook:
    """The finder's families, each at the finder's threshold, seeing one face up close.

    members: the audit finder's members (:class:`~anonymotion.audit.finder.Member`: family and
    threshold are used; the enlargement and input size are not, the square is already enlarged).
    """

    def __init__(self, members: list[Any]) -> None:
        self.families = [m.family for m in members]
        self.thresholds = [float(m.threshold) for m in members]
        self.detectors = [_detector(m.family, m.threshold) for m in members]

    def look(self, rgb: np.ndarray, box: np.ndarray | tuple) -> LookResult:
        """Whether any family finds a face at ``box`` of ``rgb`` (H, W, 3 uint8) seen up close."""
        square, inside = square_around(rgb, box)
        best, verified = 0.0, False
        for detector, threshold in zip(self.detectors, self.thresholds):
            found = detector.detect(square)
            if not len(found.boxes):
                continue
            match = iou_matrix(inside[None], found.boxes.astype(np.float32))[0] >= MATCH_IOU
            if match.any():
                score = float(found.scores[match].max())
                best = max(best, score)
                verified = verified or score >= threshold
        return LookResult(verified, best)

    def describe(self) -> str:
        return (f"a leaked or failing residual face counts only if its track is verified in at least one of "
                f"those frames: {CONTEXT:g}x its size around it, resized so the face is {LOOK_PX:g} px across, "
                f"seen by {', '.join(f'{f} {t:g}' for f, t in zip(self.families, self.thresholds))}: one finds a "
                f"face overlapping it (IoU >= {MATCH_IOU:g})")

    def close(self) -> None:
        for d in self.detectors:
            close = getattr(d, "close", None)
            if callable(close):
                close()


def _detector(family: str, threshold: float) -> Any:
    """A plain detector of ``family`` at ``threshold`` that sees its input at its own size."""
    if family == "centerface":
        from anonymotion.detect.centerface import CenterFaceDetector

        return CenterFaceDetector(threshold=threshold, input_size=0)
    if family == "yunet":
        from anonymotion.detect.yunet import YuNetDetector

        return YuNetDetector(threshold=threshold, input_size=0)
    from anonymotion.detect.blazeface import BlazeFaceDetector

    return BlazeFaceDetector(threshold=threshold)


def unverified_tracks(items: list[tuple[int, bool | None]]) -> set[int]:
    """Track ids none of whose looked-at frames was verified, from (track, verified) pairs
    (verified None = not looked at: ignored)."""
    looked: dict[int, bool] = {}
    for track, verified in items:
        if verified is None:
            continue
        looked[track] = looked.get(track, False) or bool(verified)
    return {t for t, ok in looked.items() if not ok}
