"""``body-blur``, ``body-pixelate``, ``body-block``: the whole person mask anonymized.

The conventional full-body baselines of Triess et al. (Fraunhofer IPA): the person mask
from segmentation (region source ``body``, :mod:`anonymotion.detect.bodies`) is blurred,
pixelated or filled. Strength is relative to the mask's size, like the face methods, with
defaults chosen for a whole person rather than a face: blur sigma 3 % of the person's
height (~30 px for a 1000 px person, ~0.25 x the head), a mosaic of 16 cells across.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from anonymotion.methods.basic import Block, Blur, Pixelate


@dataclass
class BodyBlur(Blur):
    """Gaussian blur of the person mask; sigma = ``strength`` x person size (px)."""

    strength: float = 0.03
    name: ClassVar[str] = "body-blur"
    levels: ClassVar[dict[int, Any]] = {1: 0.03, 2: 0.045, 3: 0.06, 4: 0.08}  # sigma / person size
    default_regions: ClassVar[tuple[str, ...]] = ("body",)


@dataclass
class BodyPixelate(Pixelate):
    """Mosaic of the person mask with ``blocks`` cells across the person."""

    blocks: int = 16
    name: ClassVar[str] = "body-pixelate"
    levels: ClassVar[dict[int, Any]] = {1: 16, 2: 12, 3: 8, 4: 6}  # mosaic cells across the person
    default_regions: ClassVar[tuple[str, ...]] = ("body",)


@dataclass
class BodyBlock(Block):
    """The person mask filled with ``color`` (RGB, default black)."""

    name: ClassVar[str] = "body-block"
    default_regions: ClassVar[tuple[str, ...]] = ("body",)
