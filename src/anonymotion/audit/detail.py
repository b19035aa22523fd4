"""Identity-bearing detail of a face box: is it still there after anonymization, was it there before?

All functions take grey images: (H, W) float32 luma (BT.601, 0-255) of the whole frame, and
boxes x1, y1, x2, y2 in its pixels. Definitions (DESIGN.md, Metric definitions: Privacy):

- :func:`ssim` — the structural similarity of Wang et al. (2004) between the original's and
  the anonymized box: Gaussian window sigma 1.5 px, K1 = 0.01, K2 = 0.03, L = 255, the mean
  of the SSIM map over the box (the window reads 4 px of context around it, so a box of a few
  pixels still gets a well-defined value).
- :func:`detail_left` — the share of the original's fine detail (at a face size of
  :data:`CANON` px, see :func:`fine_detail`) that survives, as the projection of the
  anonymized box's fine detail on the original's. An untouched copy keeps 1, a crf-18
  re-encode ~0.9, a blur that hides the face under 0.1; a mosaic or a solid block adds edges
  of its own, which do not line up with the original's features and count little.
- :func:`blockiness` — how strongly the box's edges sit on a few rows and columns, as the
  cell borders of a mosaic do (a face already pixelated in the source): low for natural
  images, near 1 for a mosaic.
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


def _canonical(image: np.ndarray, box: np.ndarray | tuple, canon: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The box plus a quarter of its size around it, resized so the box spans ``canon`` px; the box's slice."""
    import cv2

    h, w = image.shape
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = max(x2 - x1, 1e-6), max(y2 - y1, 1e-6)
    a, b, c, d = _bounds((x1 - bw / 4, y1 - bh / 4, x2 + bw / 4, y2 + bh / 4), w, h, 0)
    sx, sy = canon / bw, canon / bh
    size = (max(1, round((c - a) * sx)), max(1, round((d - b) * sy)))
    v = cv2.resize(image[b:d, a:c].astype(np.float32), size,
                   interpolation=cv2.INTER_AREA if max(sx, sy) < 1 else cv2.INTER_LINEAR)
    ia, ib = int(round((x1 - a) * sx)), int(round((y1 - b) * sy))
    return v, (slice(max(0, ib), min(size[1], ib + canon)), slice(max(0, ia), min(size[0], ia + canon)))


def _fine(v: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return v - cv2.GaussianBlur(v, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)


def detail_left(orig: np.ndarray, anon: np.ndarray, box: np.ndarray | tuple, canon: int = CANON,
                sigma: float = 1.0) -> float:
    """Share (>= 0, ~0.9 for a crf-18 copy) of the original box's fine detail left in the anonymized one.

    Both boxes are brought to a face size of ``canon`` px as in :func:`fine_detail`; with
    ``ro``, ``ra`` their fine detail (image minus its Gaussian blur, sigma ``sigma`` px), the
    projection sum(ro * ra) / sum(ro^2), clipped at 0. Edges a mosaic or a mask adds do not
    line up with the original's features and count little.
    """
    o, inner = _canonical(orig, box, canon)
    a, _ = _canonical(anon, box, canon)
    ro, ra = _fine(o, sigma)[inner], _fine(a, sigma)[inner]
    energy = float((ro * ro).sum())
    if energy <= 1e-6:
        return 0.0
    return max(0.0, float((ro * ra).sum()) / energy)


def blockiness(image: np.ndarray, box: np.ndarray | tuple, share: float = 1 / 3) -> float:
    """0-1: how much the box's edges are concentrated on a few rows and columns, as in a mosaic.

    The column profile of |horizontal gradient| (summed over rows) of a mosaic is non-zero
    only on the cell borders; a natural face spreads it over every column. Per axis, the share
    of the profile held by its strongest ``share`` of columns (rows) is rescaled so that an
    even spread gives 0 and all energy on them gives 1; the lower of the two axes is returned.
    Cells of 3 px and more (at most a third of the columns are borders) score near 1.
    """
    h, w = image.shape
    a, b, c, d = _bounds(box, w, h, 0)
    v = image[b:d, a:c].astype(np.float32)
    if min(v.shape) < 6:
        return 0.0

    def axis_score(profile: np.ndarray) -> float:
        total = float(profile.sum())
        if total <= 1e-6:
            return 0.0
        k = max(1, int(np.ceil(len(profile) * share)))
        top = float(np.sort(profile)[::-1][:k].sum()) / total
        even = k / len(profile)
        return max(0.0, (top - even) / (1.0 - even))

    gx = np.abs(np.diff(v, axis=1)).sum(axis=0)
    gy = np.abs(np.diff(v, axis=0)).sum(axis=1)
    return float(min(axis_score(gx), axis_score(gy)))


def fine_detail(image: np.ndarray, box: np.ndarray | tuple, canon: int = CANON, sigma: float = 1.0) -> float:
    """Share of the box's contrast held by its finest detail, at a face size of ``canon`` px.

    The box and a margin of a quarter of its size around it are resized (area averaging when
    shrinking) so that the box spans ``canon`` x ``canon`` px; ``r`` is that image minus its
    Gaussian blur (sigma ``sigma`` px, i.e. detail of 2-6 px periods at a face of 16 px: eyes,
    nostrils, mouth corners). Returns sum(r^2) / sum((v - mean)^2) over the box. About
    scale-free; sharp faces score 0.05-0.2 (portrait.jpg 0.13); blurred to the detail of a
    face 8 px across they score 0.012-0.031 (median 0.024), 6 px across 0.007-0.021 (median
    0.012) (portrait, indoor_group and the larger lab and street faces); a featureless box 0.
    """
    v, inner = _canonical(image, box, canon)
    vc, rc = v[inner], _fine(v, sigma)[inner]
    var = float(((vc - vc.mean()) ** 2).sum())
    if var <= 1e-6:
        return 0.0
    return float((rc ** 2).sum()) / var
