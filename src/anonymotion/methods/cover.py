"""Covering a face region with its surroundings, and the skin colour at its border.

:func:`fill_from_surroundings` replaces every pixel inside a region by a smooth
interpolation of the pixels *outside* it (normalised convolution: a Gaussian-weighted mean
of the outside pixels only), so nothing of the region's own content survives, not even
blurred: a stronger cover than a blur, which keeps the region's low frequencies.

:func:`border_skin` gives the one colour a synthetic face is painted with, from the pixels
of the face's border ring (forehead edge, cheeks' edges, jaw): the median of the brighter
half of its skin-coloured pixels, or, when the ring shows too little skin, a neutral skin
tone at the ring's brightness.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Neutral skin colour (RGB 0..255) used when a region's border shows too little skin.
NEUTRAL_SKIN = np.array([196.0, 152.0, 130.0], np.float32)
#: Share of the ring that must look like skin for its colour to be used.
MIN_SKIN_SHARE = 0.08
#: Width of the cover's soft edge as a share of the cover shape's radius (inside the shape).
FEATHER = 0.12


def shape_distance(box: np.ndarray, x0: int, y0: int, width: int, height: int, shape: str) -> np.ndarray:
    """(height, width) float32 normalised distance of each crop pixel from ``box``'s centre.

    The crop's top-left pixel is (x0, y0) in the frame; 1.0 lies on the box's ellipse
    (shape "ellipse") or rectangle ("rect"), below 1 inside. box: (4,) x1, y1, x2, y2 px.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ax, ay = max((x2 - x1) / 2, 0.5), max((y2 - y1) / 2, 0.5)
    xs = (np.arange(width, dtype=np.float32) + x0 + 0.5 - cx) / ax
    ys = (np.arange(height, dtype=np.float32) + y0 + 0.5 - cy) / ay
    if shape == "rect":
        return np.maximum(np.abs(xs)[None, :], np.abs(ys)[:, None])
    return np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)


def cover_weight(distance: np.ndarray, feather: float = FEATHER) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 inside 1 - ``feather``, falling smoothly to 0 at distance 1."""
    t = np.clip((1.0 - distance) / max(feather, 1e-6), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def fill_from_surroundings(crop: np.ndarray, inside: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, 3) float32: every pixel a Gaussian-weighted mean (``sigma`` px) of the pixels
    of ``crop`` (H, W, 3) where ``inside`` (H, W) bool is False.

    Pixels inside draw only on the outside; far from any outside pixel the mean of all
    outside pixels is used (and mid-grey when there is none). Large sigmas run on a
    shrunk copy (the result is smooth either way).
    """
    h, w = inside.shape
    outside = (~inside).astype(np.float32)
    img = crop.astype(np.float32)
    if not outside.any():
        return np.full((h, w, 3), 128.0, np.float32)
    factor = max(1, int(sigma // 4))
    if factor > 1:
        size = (max(1, w // factor), max(1, h // factor))
        small_w = cv2.resize(outside, size, interpolation=cv2.INTER_AREA)
        small_i = cv2.resize(img * outside[..., None], size, interpolation=cv2.INTER_AREA)
        s = sigma / factor
    else:
        small_w, small_i, s = outside, img * outside[..., None], sigma
    den = cv2.GaussianBlur(small_w, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
    num = cv2.GaussianBlur(small_i, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
    mean = (img * outside[..., None]).reshape(-1, 3).sum(axis=0) / outside.sum()
    ok = den > 1e-3
    fill = np.where(ok[..., None], num / np.maximum(den, 1e-6)[..., None], mean)
    if factor > 1:
        fill = cv2.resize(fill.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return fill.astype(np.float32)


def skin_like(rgb: np.ndarray) -> np.ndarray:
    """(N,) bool: which (N, 3) uint8/float RGB pixels have a skin chroma (YCrCb, Chai & Ngan 1999)."""
    px = np.asarray(rgb, np.float32).reshape(-1, 3)
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cr = (r - y) * 0.713 + 128
    cb = (b - y) * 0.564 + 128
    return (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127) & (y >= 45) & (y <= 245)


def border_skin(ring_pixels: np.ndarray) -> np.ndarray:
    """(3,) float32 RGB 0..255: the skin colour for a synthetic face from its border ring's (N, 3) pixels.

    The median of the brighter half of the skin-coloured pixels when at least MIN_SKIN_SHARE
    of the ring is skin-coloured, else NEUTRAL_SKIN scaled to the ring's median luma (clipped so the face
    stays visible in dark and bright scenes).
    """
    px = np.asarray(ring_pixels, np.float32).reshape(-1, 3)
    if len(px) == 0:
        return NEUTRAL_SKIN.copy()
    skin = skin_like(px)
    if skin.mean() >= MIN_SKIN_SHARE:
        sk = px[skin]
        luma = sk @ np.array([0.299, 0.587, 0.114], np.float32)
        lit = sk[luma >= np.median(luma)]  # the lit half: shadows and hair of a skin hue are darker
        return np.median(lit, axis=0).astype(np.float32)
    luma = float(np.median(px @ np.array([0.299, 0.587, 0.114], np.float32)))
    neutral = float(NEUTRAL_SKIN @ np.array([0.299, 0.587, 0.114], np.float32))
    return np.clip(NEUTRAL_SKIN * np.clip(luma / neutral, 0.45, 1.25), 0, 255).astype(np.float32)
