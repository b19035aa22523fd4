"""``head``: the pose-guided head region blurred with the gait study's Gaussian.

Jiang et al. (Sensors 2022) blurred a circle around the head, placed from head and neck
keypoints, with a 25 x 25 Gaussian kernel (OpenCV's default sigma for that size, ~4.1 px).
That is the default here; ``kernel`` (odd px) or ``strength`` (sigma as a share of the head
size, like ``blur``) make it stronger. Its regions come from the ``head`` source
(:mod:`anonymotion.detect.heads`), which also covers heads turned away from the camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from anonymotion.methods.base import RegionMethod
from anonymotion.methods.basic import Blur
from anonymotion.errors import ConfigError


def kernel_sigma(kernel: int) -> float:
    """OpenCV's sigma (px) for a Gaussian ``kernel`` px wide given sigma 0: 0.3((k-1)/2 - 1) + 0.8."""
    return 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8


@dataclass
class HeadBlur(RegionMethod):
    """Gaussian blur of the head region.

    kernel: Gaussian kernel size in px (odd, default 25 -> sigma 4.1 px, the study's setting).
    strength: when given, sigma = strength x region size in px instead (``blur``'s scale:
    0.12 makes a face unrecognisable at any size), and ``kernel`` is ignored.
    """

    kernel: int = 25
    strength: float | None = None
    name: ClassVar[str] = "head"
    level_param: ClassVar[str | None] = "kernel"
    levels: ClassVar[dict[int, Any]] = {1: 25, 2: 41, 3: 61, 4: 99}  # Gaussian kernel, px (study: 25)
    default_regions: ClassVar[tuple[str, ...]] = ("head",)

    def __post_init__(self) -> None:
        if int(self.kernel) < 1:
            raise ConfigError(None, f"--kernel must be a positive odd number of pixels, not {self.kernel}")
        if int(self.kernel) % 2 == 0:
            raise ConfigError(None, f"--kernel must be odd (Gaussian kernels have a centre pixel), not {self.kernel}")
        if self.strength is not None and not 0 < self.strength <= 2:
            raise ConfigError(None, f"--strength must be in (0, 2], not {self.strength}")

    def margin(self, size: float) -> int:
        if self.strength is not None:
            return Blur(strength=self.strength).margin(size)
        return int(self.kernel) // 2

    def transform(self, roi: np.ndarray, size: float) -> np.ndarray:
        if self.strength is not None:
            return Blur(strength=self.strength).transform(roi, size)
        k = int(self.kernel)
        return cv2.GaussianBlur(roi, (k, k), 0, borderType=cv2.BORDER_REPLICATE)
