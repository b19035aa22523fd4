"""``lowres``: the whole frame reduced to a tiny size and scaled back (Srivastav et al. 2019).

Privacy by resolution: at 80 x 60 (or 64 x 48) pixels no face is recognisable, yet pose
models still find the body. The frame is reduced with area averaging (what a low-resolution
sensor records) and enlarged back to its size with bicubic interpolation, so the output keeps
the input's frame size. The target follows the frame's orientation: "80x60" on a portrait
1080 x 1920 frame becomes 60 x 80.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from anonymotion.errors import ConfigError
from anonymotion.methods.base import Lifecycle
from anonymotion.types import Regions

PRESET_SIZES = {"80x60": (80, 60), "64x48": (64, 48)}


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> (W, H) ints in 4..4096; ConfigError for anything else."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(text))
    if not m:
        raise ConfigError(None, f"--size must look like WIDTHxHEIGHT (e.g. 80x60 or 64x48), not {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (4 <= w <= 4096 and 4 <= h <= 4096):
        raise ConfigError(None, f"--size {text!r}: width and height must be between 4 and 4096 px")
    return w, h


def target_size(size: tuple[int, int], width: int, height: int) -> tuple[int, int]:
    """(w, h) to reduce a ``width`` x ``height`` frame to: ``size`` turned to the frame's orientation."""
    w, h = size
    if (w > h) != (width > height) and w != h and width != height:
        w, h = h, w
    return min(w, width), min(h, height)


@dataclass
class LowRes(Lifecycle):
    """Whole-frame reduction to ``size`` ("WxH", default "80x60") and bicubic enlargement back."""

    size: str = "80x60"
    name: ClassVar[str] = "lowres"
    level_param: ClassVar[str | None] = "size"
    levels: ClassVar[dict[int, Any]] = {1: "80x60", 2: "64x48", 3: "40x30", 4: "32x24"}  # whole frame
    default_regions: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self._size = parse_size(self.size)

    def apply(self, rgb: np.ndarray, regions: Regions, t: float | None = None) -> np.ndarray:
        """(H, W, 3) uint8 -> same size, with no more detail than the target size holds."""
        h, w = rgb.shape[:2]
        tw, th = target_size(self._size, w, h)
        small = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
