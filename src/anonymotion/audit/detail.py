"""Identity-bearing detail of a face box: is it still there after anonymization, was it there before?

All functions take grey images: (H, W) float32 luma (BT.601, 0-255) of the whole frame, and
boxes x1, y1, x2, y2 in its pixels. Definitions (DESIGN.md, Metric definitions: Privacy):

- :func:`ssim` — the structural similarity of Wang et al. (2004) between the original's and
  the anonymized box: Gaussian window sigma 1.5 px, K1 = 0.01, K2 = 0.03, L = 255, the mean
  of the SSIM map over the box (the window reads 4 px of context around it, so a box of a few
  pixels still gets a well-defined value).
- :func:`detail_left` — the share of the original's gradient energy that survives, as the
  projection of the anonymized box's gradient field on the original's:
  sum(grad o . grad a) / sum(|grad o|^2), clipped at 0. An untouched copy keeps ~1, a
  re-encode 0.8-1, a blur that hides the face a few tenths; a mosaic or a solid block adds
  edges of its own, which do not point along the original's and so do not count.
- :func:`blockiness` — how strongly the gradient energy of the box sits on a regular grid of
  coarse cells (a face already pixelated in the source): 0 for natural images, near 1 for a
  mosaic, computed for the cell size that fits best.
- :func:`fine_detail` — the share of the box's contrast at its finest scale once resized to
  :data:`CANON` px (the smallest face size the audit judges): a face blurred beyond
  recognition in the source scores low.
"""

from __future__ import annotations

import numpy as np

#: Side (px) face boxes are resized to for the scale-free fine-detail measure.
CANON = 16
#: Context (px) read around a box for the SSIM window and the gradients.
CONTEXT = 4


def grey(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 luma 0-255 (BT.601) of an (H, W, 3) uint8 RGB frame."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _bounds(box: np.ndarray | tuple, width: int, height: int, pad: int = 0) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (float(v) for v in box)
    a = int(np.clip(np.floor(x1 + 0.5) - pad, 0, width - 1))
    b = int(np.clip(np.floor(y1 + 0.5) - pad, 0, height - 1))
    c = int(np.clip(np.floor(x2 + 0.5) + pad, a + 1, width))
    d = int(np.clip(np.floor(y2 + 0.5) + pad, b + 1, height))
    return a, b, c, d


def _crops(orig: np.ndarray, anon: np.ndarray, box: np.ndarray | tuple) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Both frames cut to the box plus CONTEXT px, and the box's slice inside that cut."""
    h, w = orig.shape
    a, b, c, d = _bounds(box, w, h, CONTEXT)
    ia, ib, ic, id_ = _bounds(box, w, h, 0)
    inner = (slice(ib - b, id_ - b), slice(ia - a, ic - a))
    return orig[b:d, a:c], anon[b:d, a:c], inner


def ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SSIM map (Wang et al. 2004; Gaussian window sigma 1.5, K1 0.01, K2 0.03, L 255) of two (H, W) float32 images."""
    import cv2

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    def g(v: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(v, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    mx, my = g(x), g(y)
    sxx, syy, sxy = g(x * x) - mx * mx, g(y * y) - my * my, g(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def ssim(orig: np.ndarray, anon: np.ndarray, box: np.ndarray | tuple) -> float:
    """Mean SSIM over ``box`` between two (H, W) grey frames (1 = identical structure)."""
    o, a, inner = _crops(orig, anon, box)
    return float(ssim_map(o, a)[inner].mean())


def _gradients(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    v = v.astype(np.float32)
    return (cv2.Sobel(v, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT),
            cv2.Sobel(v, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT))


def detail_left(orig: np.ndarray, anon: np.ndarray, box: np.ndarray | tuple) -> float:
    """Share (>= 0, ~1 for an untouched copy) of the original box's gradient energy left in the anonymized one."""
    o, a, inner = _crops(orig, anon, box)
    ox, oy = _gradients(o)
    ax, ay = _gradients(a)
    ox, oy, ax, ay = ox[inner], oy[inner], ax[inner], ay[inner]
    energy = float((ox * ox + oy * oy).sum())
    if energy <= 1e-6:
        return 0.0
    return max(0.0, float((ox * ax + oy * ay).sum()) / energy)


def blockiness(image: np.ndarray, box: np.ndarray | tuple, min_cells: int = 3, max_cells: int = 16) -> float:
    """0-1: how much of the box's gradient energy lies on the lines of a regular grid of coarse cells.

    For each cell size giving ``min_cells`` to ``max_cells`` cells across the box and each
    phase, the share of the column (and row) profile of |gradient| that falls on the grid
    lines is compared with the share a grid-free image would put there (1 / cell size);
    the excess, scaled to 0-1, is taken for the best cell size, as the lower of the two axes.
    """
    h, w = image.shape
    a, b, c, d = _bounds(box, w, h, 0)
    v = image[b:d, a:c].astype(np.float32)
    if min(v.shape) < 2 * min_cells:
        return 0.0
    gx = np.abs(np.diff(v, axis=1)).sum(axis=0)  # (W-1,) energy of the edge between column i and i+1
    gy = np.abs(np.diff(v, axis=0)).sum(axis=1)

    def axis_score(profile: np.ndarray) -> float:
        total = float(profile.sum())
        n = len(profile) + 1
        if total <= 1e-6:
            return 0.0
        best = 0.0
        for size in range(max(2, n // max_cells), max(2, n // min_cells) + 1):
            expected = 1.0 / size
            for phase in range(size):
                share = float(profile[phase::size].sum()) / total
                best = max(best, (share - expected) / (1.0 - expected))
        return best

    return float(min(axis_score(gx), axis_score(gy)))


def fine_detail(image: np.ndarray, box: np.ndarray | tuple, canon: int = CANON) -> float:
    """Share (0-1) of the box's contrast that lives at its finest scale: the fine detail a face carries.

    The box is resized (area averaging) to ``canon`` x ``canon`` px, ``v``; ``low`` is ``v``
    shrunk to half that and enlarged back (bilinear). Returns sum((v - low)^2) / sum((v - mean)^2).
    Scale-free for boxes of at least ``canon`` px (always shrunk, never enlarged). A sharp face
    scores 0.1-0.3 (portrait.jpg 0.22); the same face blurred so that it carries no more detail
    than at 6 px across scores 0.02-0.04; a featureless or smeared box scores near 0.
    """
    import cv2

    h, w = image.shape
    a, b, c, d = _bounds(box, w, h, 0)
    v = image[b:d, a:c].astype(np.float32)
    if v.size < 4:
        return 0.0
    interp = cv2.INTER_AREA if min(v.shape) >= canon else cv2.INTER_LINEAR
    v = cv2.resize(v, (canon, canon), interpolation=interp)
    low = cv2.resize(cv2.resize(v, (canon // 2, canon // 2), interpolation=cv2.INTER_AREA), (canon, canon),
                     interpolation=cv2.INTER_LINEAR)
    var = float(((v - v.mean()) ** 2).sum())
    if var <= 1e-6:
        return 0.0
    return float(((v - low) ** 2).sum()) / var
