"""Anonymization methods: one small class each, behind one interface, in a plain registry.

A method turns an (H, W, 3) uint8 RGB frame and its :class:`Regions` into a new frame.
Region-based methods transform each region's pixels (its box grown by ``mask_scale`` and
cut to ``shape``) with a strength scaled to the region's size, so a face is covered the
same way at 20 px and at 400 px. Later issues add methods with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import cv2
import numpy as np

from anonymotion.anonymize.masks import bounding_rect, region_mask, scale_boxes
from anonymotion.types import Regions


class Method(Protocol):
    """The interface every anonymization method implements."""

    name: str
    default_regions: tuple[str, ...]  # region sources it needs when the user names none

    def apply(self, rgb: np.ndarray, regions: Regions) -> np.ndarray:
        """Return the anonymized (H, W, 3) uint8 frame; ``rgb`` itself is not modified."""
        ...


@dataclass
class RegionMethod:
    """Base for methods that transform each region independently.

    shape: "ellipse" or "rect"; mask_scale: factor applied to every box (1.3 = 30 % larger).
    Subclasses implement :meth:`transform` on one region's pixels.
    """

    shape: str = "ellipse"
    mask_scale: float = 1.3
    name: ClassVar[str] = "region"
    default_regions: ClassVar[tuple[str, ...]] = ("faces",)

    def margin(self, size: float) -> int:
        """Extra context (px) read around a region of ``size`` px so its edges transform cleanly."""
        return 0

    def transform(self, roi: np.ndarray, size: float) -> np.ndarray:
        raise NotImplementedError

    def apply(self, rgb: np.ndarray, regions: Regions) -> np.ndarray:
        out = rgb.copy()
        h, w = rgb.shape[:2]
        boxes = scale_boxes(regions.boxes, self.mask_scale, w, h)
        for x1, y1, x2, y2 in boxes:
            size = float(max(x2 - x1, y2 - y1))
            if size < 1:
                continue
            # work on the region's crop (plus the method's margin), never on a full-frame mask
            m = self.margin(size)
            cx1, cy1 = max(0, int(np.floor(x1)) - m), max(0, int(np.floor(y1)) - m)
            cx2, cy2 = min(w, int(np.ceil(x2)) + m), min(h, int(np.ceil(y2)) + m)
            local = Regions(np.array([[x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1]], np.float32),
                            np.ones(1, np.float32), np.zeros(1, np.int64), ("region",))
            mask = region_mask(local, cy2 - cy1, cx2 - cx1, shape=self.shape, mask_scale=1.0)
            self._paint_crop(out, rgb, (cy1, cy2, cx1, cx2), mask, size)
        if regions.mask is not None and regions.mask.any():
            rect = bounding_rect(regions.mask)
            assert rect is not None
            size = float(max(rect[1] - rect[0], rect[3] - rect[2]))
            self._paint(out, rgb, regions.mask.astype(bool), size)
        return out

    def _paint_crop(self, out: np.ndarray, src: np.ndarray, rect: tuple[int, int, int, int],
                    mask: np.ndarray, size: float) -> None:
        """Transform src[rect] and copy it into out where the crop-sized ``mask`` is True."""
        y1, y2, x1, x2 = rect
        changed = self.transform(src[y1:y2, x1:x2], size)
        out[y1:y2, x1:x2][mask] = changed[mask]

    def _paint(self, out: np.ndarray, src: np.ndarray, mask: np.ndarray, size: float) -> None:
        """Transform the pixels of a full-frame (H, W) bool ``mask`` (e.g. a person mask)."""
        rect = bounding_rect(mask, margin=self.margin(size))
        if rect is None:
            return
        y1, y2, x1, x2 = rect
        self._paint_crop(out, src, rect, mask[y1:y2, x1:x2], size)


@dataclass
class Blur(RegionMethod):
    """Gaussian blur with sigma = ``strength`` × region size (px, at least 2), so any face size is unrecognisable.

    The default 0.3 leaves a smooth blob: at 0.12 a third of small street faces kept
    most of their pixels within codec noise of the original.
    """

    strength: float = 0.3
    name: ClassVar[str] = "blur"

    def sigma(self, size: float) -> float:
        return max(2.0, self.strength * size)

    def margin(self, size: float) -> int:
        return int(np.ceil(2 * self.sigma(size)))

    def transform(self, roi: np.ndarray, size: float) -> np.ndarray:
        s = self.sigma(size)
        # Blurring a shrunken copy and enlarging it again is equivalent and far cheaper for big faces.
        factor = max(1, int(s // 4))
        if factor > 1:
            small = cv2.resize(roi, (max(1, roi.shape[1] // factor), max(1, roi.shape[0] // factor)),
                               interpolation=cv2.INTER_AREA)
            small = cv2.GaussianBlur(small, (0, 0), s / factor, borderType=cv2.BORDER_REPLICATE)
            return cv2.resize(small, (roi.shape[1], roi.shape[0]), interpolation=cv2.INTER_LINEAR)
        return cv2.GaussianBlur(roi, (0, 0), s, borderType=cv2.BORDER_REPLICATE)


@dataclass
class Pixelate(RegionMethod):
    """Mosaic: the region is shown as ``blocks`` × ``blocks`` cells of its mean colour."""

    blocks: int = 8
    name: ClassVar[str] = "pixelate"

    def transform(self, roi: np.ndarray, size: float) -> np.ndarray:
        h, w = roi.shape[:2]
        n = max(1, int(self.blocks))
        bw, bh = max(1, round(w * n / size)), max(1, round(h * n / size))
        small = cv2.resize(roi, (bw, bh), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


@dataclass
class Block(RegionMethod):
    """Solid fill with ``color`` (RGB, default black): nothing of the region remains."""

    color: tuple[int, int, int] = (0, 0, 0)
    name: ClassVar[str] = "block"

    def transform(self, roi: np.ndarray, size: float) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.color, np.uint8), roi.shape)


@dataclass
class NoChange:
    """The ``reencode`` control: frames pass unchanged (only the codec acts on them)."""

    name: ClassVar[str] = "reencode"
    default_regions: ClassVar[tuple[str, ...]] = ()

    def apply(self, rgb: np.ndarray, regions: Regions) -> np.ndarray:
        return rgb


#: name -> factory taking keyword parameters. Later issues add entries with :func:`register`.
METHODS: dict[str, Callable[..., Method]] = {
    "blur": Blur,
    "pixelate": Pixelate,
    "block": Block,
    "reencode": NoChange,
}


def register(name: str, factory: Callable[..., Method]) -> None:
    """Add a method to the registry (used by modules that define further methods)."""
    METHODS[name] = factory


def make_method(name: str, **params: object) -> Method:
    """Build method ``name`` with the parameters it accepts (unknown ones are ignored).

    Raises ValueError naming the known methods when ``name`` is unknown.
    """
    _load_extra_methods()
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of: {', '.join(sorted(METHODS))}")
    factory = METHODS[name]
    fields = getattr(factory, "__dataclass_fields__", None)
    if fields is not None:
        params = {k: v for k, v in params.items() if k in fields and v is not None}
    return factory(**params)


def _load_extra_methods() -> None:
    """Import modules that register further methods (kept lazy: they may need heavy models)."""
    import importlib

    for module in ("anonymotion.anonymize.extra",):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
