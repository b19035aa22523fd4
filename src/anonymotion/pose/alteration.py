"""How much of the subject's body (not its head) an anonymization changed, frame by frame.

A face anonymizer should change the face and nothing else. When its detector fires on a
body part (on ``lab_single/cam01.mp4`` CenterFace takes the participant's bare chest for a
face, score 0.24, from t = 1.2 s on, and blurs a 336 × 288 px ellipse over his torso), the
pose really changes, and an evaluation that only reports a large EPE leaves the user
guessing whether face blurring moves pose. This module measures it directly from pixels:

- the body mask of a frame is drawn from the ORIGINAL's subject keypoints: the torso
  quadrilateral (shoulders, hips) plus thick limb segments (upper/lower arms and legs),
  minus a disc around the head (faces are meant to change);
- a pixel is *altered* when the original and anonymized frames differ by more than
  ``threshold`` grey levels after both were shrunk (area averaging, which also removes
  most codec noise: on lab_single/cam01 a crf-18 re-encode alters at most 0.02 % of the
  body, the face blur of the pipeline 0 % while it blurs only faces, 34-50 % of it in the
  frames where it blurred the torso, pixelate 12-30 %, block 45-60 %);
- the result is the altered share of the body mask per frame, in [0, 1] (NaN where the
  original has no subject).

Frames are streamed in lockstep; memory holds two frames.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from anonymotion.types import Poses

log = logging.getLogger(__name__)

#: A frame whose body share altered is at least this is reported as "body altered".
ALTERED_SHARE = 0.10

_HEAD = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "mouth_left", "mouth_right")
_LIMBS = (("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
          ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
          ("right_hip", "right_knee"), ("right_knee", "right_ankle"))
_TORSO = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")


def body_mask(xy: np.ndarray, names: tuple[str, ...], shape: tuple[int, int], scale: float = 1.0) -> np.ndarray | None:
    """(H, W) bool mask of the body (torso and limbs, head excluded) of one pose.

    xy: (K, 2) full-frame pixels; shape: (H, W) of the mask; scale: mask pixels per
    frame pixel. Returns None when the torso keypoints are missing.
    """
    import cv2

    idx = {n: i for i, n in enumerate(names)}
    p = xy.astype(np.float64) * scale
    torso = p[[idx[n] for n in _TORSO]]
    if not np.isfinite(torso).all():
        return None
    hip = torso[2:].mean(axis=0)
    torso_len = float(np.linalg.norm(torso[:2].mean(axis=0) - hip))
    if torso_len < 2:
        return None
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(torso).astype(np.int32), 1)
    thick = max(2, int(round(0.2 * torso_len)))
    for a, b in _LIMBS:
        pa, pb = p[idx[a]], p[idx[b]]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(mask, tuple(int(v) for v in np.round(pa)), tuple(int(v) for v in np.round(pb)), 1, thick)
    head = p[[idx[n] for n in _HEAD]]
    head = head[np.isfinite(head).all(axis=1)]
    if len(head):
        c = head.mean(axis=0)
        cv2.circle(mask, (int(round(c[0])), int(round(c[1]))), int(round(0.5 * torso_len)), 0, -1)
    return mask.astype(bool)


def altered_share(ref_rgb: np.ndarray, test_rgb: np.ndarray, xy: np.ndarray, names: tuple[str, ...], *,
                  long_side: int = 480, threshold: int = 16) -> float:
    """Share (0..1) of the subject's body pixels that differ between two (H, W, 3) uint8 frames.

    xy: (K, 2) the subject's keypoints in the reference frame (full-frame px). Frames are
    shrunk to ``long_side`` px by area averaging before the per-pixel max channel
    difference is compared with ``threshold`` (grey levels). NaN without a body.
    """
    import cv2

    h, w = ref_rgb.shape[:2]
    if test_rgb.shape[:2] != (h, w):
        return float("nan")
    s = min(1.0, long_side / max(h, w))
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    mask = body_mask(xy, names, (size[1], size[0]), s)
    if mask is None or not mask.any():
        return float("nan")
    a = cv2.resize(ref_rgb, size, interpolation=cv2.INTER_AREA).astype(np.int16)
    b = cv2.resize(test_rgb, size, interpolation=cv2.INTER_AREA).astype(np.int16)
    diff = np.abs(a - b).max(axis=2)
    return float((diff[mask] > threshold).mean())


def body_alteration(original: str | os.PathLike, anonymized: str | os.PathLike, ref: Poses, *,
                    max_frames: int | None = None) -> np.ndarray | None:
    """(T,) altered body share per frame of ``ref`` (the original's poses), NaN without a subject.

    Both videos are decoded in lockstep (frame i with frame i; compare has already checked
    that their timestamps match). Returns None when the frame sizes differ (a method that
    rescales frames cannot be compared pixel for pixel).
    """
    from anonymotion.io.video import iter_frames, probe

    ia, ib = probe(Path(original)), probe(Path(anonymized))
    if (ia.width, ia.height) != (ib.width, ib.height):
        log.info("%s: frame size differs from the original, body alteration not measured", anonymized)
        return None
    n = len(ref.t) if max_frames is None else min(len(ref.t), max_frames)
    out = np.full(len(ref.t), np.nan, np.float64)
    fa = iter_frames(Path(original), ia, strict=False)
    fb = iter_frames(Path(anonymized), ib, strict=False)
    for i, (a, b) in enumerate(zip(fa, fb)):
        if i >= n:
            break
        out[i] = altered_share(a.rgb, b.rgb, ref.xy[i], tuple(ref.names))
    return out
