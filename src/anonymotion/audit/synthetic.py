"""The audit's view of the ``replace`` method's synthetic face.

The synthetic face (:mod:`anonymotion.methods.face_template`) is public and the same for
everyone, so the audit can render it wherever a face was, from that face's five landmarks
(:func:`~anonymotion.methods.face_pose.fit_face`), and use it twice:

- :func:`synthetic_likeness`: is a face found in the anonymized video the synthetic one?
  The correlation of the face box's luma gradients with the synthetic face's, placed from
  the found face's own landmarks (1 = the same pattern). Real faces correlate with it only
  as much as any face correlates with a generic one.
- :func:`identity_detail_left`: the detail of the original that distinguishes it from the
  generic face, and how much of it is left. Any face drawn at the same place shares the
  original's layout (eyes where the eyes were, a hairline where the hairline was), and the
  plain :func:`~anonymotion.audit.detail.detail_left` counts that shared layout as detail
  left. Here the original's gradient field is first made orthogonal to the synthetic face's
  (the one direction a generic face explains), and what is left of that part is measured:
  1 for an untouched copy (exactly, whatever the face), about 0 for a blur and for a face
  whose pixels no longer come from the original.

All functions take grey frames ((H, W) float32 luma 0-255) and boxes / landmarks in pixels.
"""

from __future__ import annotations

import os

import numpy as np

#: Share of the box's width and height (about its centre) the measures are taken on.
CORE = 0.8
#: Smoothing (share of the box width) before the likeness is measured: landmarks are a few px off.
LIKENESS_SIGMA = 0.03
#: Yaws (degrees) tried around a fit's own when placing the synthetic face for the likeness.
YAW_OFFSETS = (0.0, -10.0, 10.0, -20.0, 20.0)
#: Yaws (degrees) of the placements from the box alone.
BOX_YAWS = (-40.0, -20.0, 0.0, 20.0, 40.0)


def synthetic_reference(shape: tuple[int, int], box: np.ndarray, landmarks: np.ndarray,
                        yaw_offset: float = 0.0) -> np.ndarray | None:
    """(H, W) float32 luma of the synthetic face placed at the face with ``landmarks`` (5, 2) px,
    over a mid-grey background, for a frame of ``shape`` (H, W); None when the landmarks do not
    fit a face seen from the front or side (then no synthetic face would have been drawn).
    yaw_offset: degrees added to the fitted yaw (a detector's landmarks on a turned face are
    only a rough guide to its yaw)."""
    import cv2

    from anonymotion.methods.cover import NEUTRAL_SKIN
    from anonymotion.methods.face_pose import MAX_YAW, fit_face
    from anonymotion.methods.face_template import face_template, template_landmarks
    from anonymotion.methods.replace import _template_width

    fit = fit_face(np.asarray(landmarks, np.float64), np.asarray(box, np.float64))
    if fit is None or not fit.plausible:
        return None
    yaw = float(np.clip(fit.yaw + yaw_offset, -MAX_YAW, MAX_YAW))
    width = _template_width(fit.width)
    tpl = face_template(yaw, width)
    m = fit.matrix_for(width)
    if yaw != fit.yaw:  # keep the placement: map the turned template's landmarks where the fit put them
        from anonymotion.methods.face_pose import similarity

        target = template_landmarks(fit.yaw, width) @ m[:, :2].T + m[:, 2]
        m, _ = similarity(template_landmarks(yaw, width), target)
    rgb = tpl.colored(NEUTRAL_SKIN)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    luma = tpl.alpha * luma + (1 - tpl.alpha) * 128.0
    h, w = shape
    return cv2.warpAffine(np.ascontiguousarray(luma, np.float32), m, (w, h),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=128.0)


def _core_slices(box: np.ndarray, width: int, height: int, core: float = CORE) -> tuple[slice, slice]:
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * core / 2, (y2 - y1) * core / 2
    a, b = int(np.clip(round(cx - hw), 0, width - 1)), int(np.clip(round(cy - hh), 0, height - 1))
    c, d = int(np.clip(round(cx + hw), a + 1, width)), int(np.clip(round(cy + hh), b + 1, height))
    return slice(b, d), slice(a, c)


def _grad(v: np.ndarray) -> np.ndarray:
    """(2, H, W) Sobel gradients of a grey image."""
    import cv2

    v = np.ascontiguousarray(v, np.float32)
    return np.stack([cv2.Sobel(v, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT),
                     cv2.Sobel(v, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)])


def _cut(image: np.ndarray, rows: slice, cols: slice, pad: int = 4) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The image cut to rows/cols plus ``pad`` px, and the inner slices inside that cut."""
    h, w = image.shape
    r0, r1 = max(0, rows.start - pad), min(h, rows.stop + pad)
    c0, c1 = max(0, cols.start - pad), min(w, cols.stop + pad)
    return image[r0:r1, c0:c1], (slice(rows.start - r0, rows.stop - r0), slice(cols.start - c0, cols.stop - c0))


def synthetic_likeness(anon: np.ndarray, box: np.ndarray, landmarks: list[np.ndarray | None]) -> float:
    """How much the anonymized frame's ``box`` looks like the synthetic face: the best
    correlation (-1..1) over the placements given by each (5, 2) px set in ``landmarks``
    (the found face's own, and the covered original face's when known) and yaws of
    :data:`YAW_OFFSETS` around each fit; 0 when none fits a face seen from the front or side.

    Both images are smoothed (sigma :data:`LIKENESS_SIGMA` of the box width), the placement
    is refined by OpenCV's ECC alignment (Evangelidis & Psarakis 2008; rotation and shift),
    and the correlation of the smoothed gradients over the box's core is measured.
    """
    best = 0.0
    for marks in [*landmarks, *(box_landmarks(box, yaw) for yaw in BOX_YAWS)]:
        if marks is None or not np.isfinite(np.asarray(marks, np.float64)).all():
            continue
        for offset in YAW_OFFSETS if marks is not None else (0.0,):
            ref = synthetic_reference(anon.shape, box, marks, offset)
            if ref is not None:
                best = max(best, _aligned_correlation(anon, ref, box))
    return best


def box_landmarks(box: np.ndarray, yaw: float) -> np.ndarray:
    """(5, 2) px landmarks of the synthetic face turned by ``yaw`` degrees, upright and as wide
    as ``box`` about its centre: a placement from the box alone."""
    from anonymotion.methods.face_template import EXTENT, canvas_size, template_landmarks

    width = 100
    w, h = canvas_size(width)
    x1, y1, x2, y2 = (float(v) for v in box)
    scale = (x2 - x1) / (width / EXTENT)  # the face spans 2 of the canvas' 2 * EXTENT units
    return (template_landmarks(yaw, width) - (w / 2, h / 2)) * scale + ((x1 + x2) / 2, (y1 + y2) / 2)


def _aligned_correlation(anon: np.ndarray, ref: np.ndarray, box: np.ndarray) -> float:
    import cv2

    x1, _, x2, _ = (float(v) for v in box)
    sigma = max(1.0, LIKENESS_SIGMA * (x2 - x1))
    rows, cols = _core_slices(box, anon.shape[1], anon.shape[0])
    pad = int(np.ceil(3 * sigma)) + 4
    a, inner = _cut(anon, rows, cols, pad)
    r, _ = _cut(ref, rows, cols, pad)
    a = cv2.GaussianBlur(np.ascontiguousarray(a, np.float32), (0, 0), sigma)
    r = cv2.GaussianBlur(np.ascontiguousarray(r, np.float32), (0, 0), sigma)
    try:
        _, warp = cv2.findTransformECC(r, a, np.eye(2, 3, dtype=np.float32), cv2.MOTION_EUCLIDEAN,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4), None, 1)
        r = cv2.warpAffine(r, warp, (a.shape[1], a.shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    except cv2.error:  # ECC did not converge: judge the landmark placement as it is
        pass
    ga, gr = _grad(a)[:, inner[0], inner[1]], _grad(r)[:, inner[0], inner[1]]
    den = float(np.sqrt((ga * ga).sum() * (gr * gr).sum()))
    return float((ga * gr).sum()) / den if den > 1e-6 else 0.0


def identity_detail_left(orig: np.ndarray, anon: np.ndarray, box: np.ndarray,
                         landmarks: np.ndarray | None) -> float | None:
    """Share (>= 0, 1 for an untouched copy) of the original's face detail that a generic face
    does not explain and that is still in the anonymized frame (see the module docstring).

    orig/anon: (H, W) grey frames; box and landmarks (5, 2) of the original face, px. None when
    the landmarks are missing or fit no face seen from the front or side.
    """
    if landmarks is None or not np.isfinite(np.asarray(landmarks, np.float64)).all():
        return None
    ref = synthetic_reference(orig.shape, box, landmarks)
    if ref is None:
        return None
    rows, cols = _core_slices(box, orig.shape[1], orig.shape[0])
    o, inner = _cut(orig, rows, cols)
    a, _ = _cut(anon[:orig.shape[0], :orig.shape[1]], rows, cols)
    r, _ = _cut(ref, rows, cols)
    go, ga, gr = (_grad(v)[:, inner[0], inner[1]] for v in (o, a, r))
    rr = float((gr * gr).sum())
    if rr > 1e-6:
        go = go - (float((go * gr).sum()) / rr) * gr  # the part of the original no generic face explains
    energy = float((go * go).sum())
    if energy <= 1e-6:
        return 0.0
    return max(0.0, float((go * ga).sum()) / energy)


#: Likeness from which a face found in the output is the synthetic one (real faces measured
#: <= 0.29 against it, the synthetic faces of ``replace`` 0.72-0.99: portrait, indoor_group,
#: lab_single cam01/cam02 frame 0).
SYNTHETIC_LIKENESS = 0.6


def near(box: np.ndarray, landmarks: list[np.ndarray]) -> list[np.ndarray]:
    """The (5, 2) landmark sets whose centroid lies inside ``box`` (x1, y1, x2, y2 px)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    out = []
    for marks in landmarks:
        m = np.asarray(marks, np.float64)
        if np.isfinite(m).all():
            cx, cy = m.mean(axis=0)
            if x1 <= cx <= x2 and y1 <= cy <= y2:
                out.append(m)
    return out


class RegionsLog:
    """The landmarks an output's ``regions.jsonl`` logs per frame, read forward as frames come.

    These are the placements the ``replace`` method drew its synthetic face at. The audit does
    not take them on trust: a face counts as synthetic only if its pixels match the synthetic
    face placed there (:func:`synthetic_likeness`).
    """

    def __init__(self, path: "str | os.PathLike[str]") -> None:
        self.path = path
        self._fh = open(path, encoding="utf-8")
        self._next: dict | None = None

    def landmarks(self, frame: int) -> list[np.ndarray]:
        """(5, 2) px landmark sets logged for ``frame`` (frames asked in increasing order)."""
        import json

        while True:
            if self._next is None:
                line = self._fh.readline()
                if not line:
                    return []
                self._next = json.loads(line)
            index = int(self._next.get("frame", -1))
            if index < frame:
                self._next = None
                continue
            if index > frame:
                return []
            rec, self._next = self._next, None
            return [np.asarray(r["landmarks"], np.float64) for r in rec.get("regions", []) if "landmarks" in r]

    def close(self) -> None:
        self._fh.close()
