"""The method interface and the base of region methods.

A method turns an (H, W, 3) uint8 RGB frame, its :class:`Regions` and its time ``t`` (s)
into a new frame. Its life cycle is explicit: :meth:`Method.apply` per frame in time order,
then exactly one of :meth:`Method.close` (the output is complete: finish side files) or
:meth:`Method.abort` (the run failed: remove them). Region-based methods transform each
region's pixels (its box grown by ``mask_scale`` and cut to ``shape``) with a strength
scaled to the region's size, so a face is covered the same way at 20 px and at 400 px.

Strength levels (the web page's choices) are defined on each method class: ``level_param``
names the parameter and ``levels`` maps level 1..4 to its value; level 1 is the class's
default by construction (:func:`anonymotion.methods.registry.level_value` checks it), and
higher levels only cover more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from anonymotion.methods.masks import bounding_rect, draw_shape, scale_boxes
from anonymotion.types import Regions


class Method(Protocol):
    """The interface every anonymization method implements."""

    name: ClassVar[str]
    default_regions: ClassVar[tuple[str, ...]]  # region sources it needs when the user names none
    level_param: ClassVar[str | None]  # parameter the web page's strength levels set (None: no levels)
    levels: ClassVar[dict[int, Any]]  # level 1..4 -> value of level_param; 1 = the default

    def apply(self, rgb: np.ndarray, regions: Regions, t: float | None = None) -> np.ndarray:
        """Return the anonymized (H, W, 3) uint8 frame at ``t`` seconds; ``rgb`` is not modified."""
        ...

    def close(self) -> None:
        """The output is complete: release models, finish side files."""
        ...

    def abort(self) -> None:
        """The run failed: release models, remove unfinished side files."""
        ...


class Lifecycle:
    """No-op :meth:`close` / :meth:`abort` and no strength levels, for stateless methods."""

    level_param: ClassVar[str | None] = None
    levels: ClassVar[dict[int, Any]] = {}

    def close(self) -> None:
        """Nothing to release."""

    def abort(self) -> None:
        """Nothing to remove."""


@dataclass
class RegionMethod(Lifecycle):
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

    def apply(self, rgb: np.ndarray, regions: Regions, t: float | None = None) -> np.ndarray:
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
            mask = np.zeros((cy2 - cy1, cx2 - cx1), np.uint8)
            draw_shape(mask, float(x1 - cx1), float(y1 - cy1), float(x2 - cx1), float(y2 - cy1), self.shape)
            self._paint_crop(out, rgb, (cy1, cy2, cx1, cx2), mask.view(bool), size)
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
