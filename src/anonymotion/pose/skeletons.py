"""Keypoint layouts: MediaPipe BlazePose 33 names, the edges to draw, COCO-17 and BODY-25 maps.

All arrays follow the :class:`anonymotion.types.Poses` conventions: keypoints on the
second-to-last axis for ``xy`` (``(..., K, 2)`` float pixels) and the last axis for
``score`` (``(..., K)`` in [0, 1]). Missing keypoints are NaN with score 0.
"""

from __future__ import annotations

import numpy as np

#: The 33 BlazePose landmarks, in MediaPipe's order.
MEDIAPIPE_33: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)

#: Edges (pairs of names) drawn for a MediaPipe skeleton.
MEDIAPIPE_EDGES: tuple[tuple[str, str], ...] = (
    ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"), ("left_eye", "left_eye_outer"),
    ("left_eye_outer", "left_ear"), ("nose", "right_eye_inner"), ("right_eye_inner", "right_eye"),
    ("right_eye", "right_eye_outer"), ("right_eye_outer", "right_ear"), ("mouth_left", "mouth_right"),
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("left_wrist", "left_pinky"), ("left_wrist", "left_index"), ("left_wrist", "left_thumb"),
    ("left_pinky", "left_index"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("right_wrist", "right_pinky"), ("right_wrist", "right_index"), ("right_wrist", "right_thumb"),
    ("right_pinky", "right_index"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
)

#: COCO-17 keypoint names, in COCO order.
COCO_17: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

#: OpenPose BODY-25 names, in OpenPose order.
BODY_25: tuple[str, ...] = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)

#: Derived points: name -> the source names averaged (score = minimum of the sources).
DERIVED: dict[str, tuple[str, ...]] = {
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_shoulder": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
    "mid_ear": ("left_ear", "right_ear"),
}

#: COCO-17 name -> MediaPipe source (COCO names are a subset of MediaPipe's).
COCO_17_FROM_MEDIAPIPE: dict[str, str] = {name: name for name in COCO_17}

#: BODY-25 name -> MediaPipe name or derived name; None where MediaPipe has no equivalent.
BODY_25_FROM_MEDIAPIPE: dict[str, str | None] = {
    "Nose": "nose", "Neck": "neck", "RShoulder": "right_shoulder", "RElbow": "right_elbow",
    "RWrist": "right_wrist", "LShoulder": "left_shoulder", "LElbow": "left_elbow",
    "LWrist": "left_wrist", "MidHip": "mid_hip", "RHip": "right_hip", "RKnee": "right_knee",
    "RAnkle": "right_ankle", "LHip": "left_hip", "LKnee": "left_knee", "LAnkle": "left_ankle",
    "REye": "right_eye", "LEye": "left_eye", "REar": "right_ear", "LEar": "left_ear",
    "LBigToe": "left_foot_index", "LSmallToe": None, "LHeel": "left_heel",
    "RBigToe": "right_foot_index", "RSmallToe": None, "RHeel": "right_heel",
}

LAYOUTS: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    "mediapipe": (MEDIAPIPE_33, {n: n for n in MEDIAPIPE_33}),
    "coco17": (COCO_17, dict(COCO_17_FROM_MEDIAPIPE)),
    "body25": (BODY_25, BODY_25_FROM_MEDIAPIPE),
}


def point(xy: np.ndarray, score: np.ndarray, names: tuple[str, ...], name: str) -> tuple[np.ndarray, np.ndarray]:
    """One keypoint or derived point (see :data:`DERIVED`) from ``names``.

    xy: (..., K, 2), score: (..., K). Returns ((..., 2) xy, (...,) score); a derived point
    is the mean of its sources with the minimum of their scores.
    """
    if name in names:
        i = names.index(name)
        return xy[..., i, :], score[..., i]
    if name in DERIVED:
        idx = [names.index(n) for n in DERIVED[name]]
        return xy[..., idx, :].mean(axis=-2), score[..., idx].min(axis=-1)
    raise KeyError(f"unknown keypoint {name!r}")


def to_layout(
    xy: np.ndarray, score: np.ndarray, names: tuple[str, ...], layout: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Re-express keypoints in another layout ("mediapipe", "coco17" or "body25").

    xy (..., K, 2) and score (..., K) in ``names`` order; returns (xy', score', names')
    in the layout's order. Points without an equivalent are NaN with score 0.
    """
    if layout not in LAYOUTS:
        raise KeyError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    out_names, source = LAYOUTS[layout]
    shape = xy.shape[:-2]
    out_xy = np.full(shape + (len(out_names), xy.shape[-1]), np.nan, np.float32)
    out_score = np.zeros(shape + (len(out_names),), np.float32)
    for j, name in enumerate(out_names):
        src = source.get(name)
        if src is None:
            continue
        p, s = point(xy, score, names, src)
        out_xy[..., j, :] = p
        out_score[..., j] = s
    return out_xy, out_score, out_names


def edge_indices(names: tuple[str, ...] = MEDIAPIPE_33) -> list[tuple[int, int]]:
    """Index pairs of the drawable edges among ``names``."""
    return [(names.index(a), names.index(b)) for a, b in MEDIAPIPE_EDGES if a in names and b in names]


def _side_color(a: str, b: str) -> tuple[int, int, int]:
    if a.startswith("left") and b.startswith("left"):
        return (255, 140, 0)
    if a.startswith("right") and b.startswith("right"):
        return (0, 160, 255)
    return (240, 240, 240)


def draw_skeleton(
    rgb: np.ndarray,
    xy: np.ndarray,
    score: np.ndarray,
    threshold: float = 0.5,
    names: tuple[str, ...] = MEDIAPIPE_33,
) -> np.ndarray:
    """Return a copy of the (H, W, 3) uint8 frame with the skeleton drawn on it.

    xy: (K, 2) pixels, score: (K,). Keypoints/edges below ``threshold`` or NaN are skipped.
    Left side orange, right side blue, centre white; line width scales with frame size.
    """
    import cv2

    out = np.ascontiguousarray(rgb).copy()
    if xy.size == 0 or not np.isfinite(xy).any():
        return out
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 400))
    ok = np.isfinite(xy).all(axis=1) & (score >= threshold)
    pts = np.nan_to_num(xy).round().astype(np.int32)
    for a, b in MEDIAPIPE_EDGES:
        if a not in names or b not in names:
            continue
        i, j = names.index(a), names.index(b)
        if ok[i] and ok[j]:
            cv2.line(out, tuple(int(v) for v in pts[i]), tuple(int(v) for v in pts[j]),
                     _side_color(a, b), thick, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(out, tuple(int(v) for v in pts[i]), thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return out


def draw_persons(rgb: np.ndarray, xy: np.ndarray, score: np.ndarray, ids: np.ndarray,
                 threshold: float = 0.5, names: tuple[str, ...] = MEDIAPIPE_33) -> np.ndarray:
    """Return a copy of the (H, W, 3) uint8 frame with every person's skeleton and id drawn.

    xy: (N, K, 2) pixels, score: (N, K), ids: (N,) person ids; the id is written above
    each person's keypoint box ("#3"), white on black, sized with the frame.
    """
    import cv2

    out = np.ascontiguousarray(rgb).copy()
    h, w = out.shape[:2]
    scale = max(0.5, max(h, w) / 1200)
    thick = max(1, round(scale * 2))
    for i in range(xy.shape[0]):
        out = draw_skeleton(out, xy[i], score[i], threshold, names)
        ok = np.isfinite(xy[i]).all(axis=1)
        if not ok.any():
            continue
        x = int(np.clip(np.min(xy[i][ok, 0]), 0, w - 1))
        y = int(np.clip(np.min(xy[i][ok, 1]) - 8 * scale, 20 * scale, h - 1))
        label = f"#{int(ids[i])}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        cv2.rectangle(out, (x, y - th - base), (x + tw, y + base), (0, 0, 0), -1)
        cv2.putText(out, label, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out
