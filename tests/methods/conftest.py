"""Real frames for the method tests: the COCO portrait and the first frame of a lab clip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def portrait(request) -> np.ndarray:
    """(640, 516, 3) uint8 RGB of images/portrait.jpg (one man facing the camera)."""
    from anonymotion.io.images import read_image

    get: Callable[[str], Path] = request.getfixturevalue("shared_data")
    return read_image(get("images/portrait.jpg"))


@pytest.fixture(scope="module")
def lab_back(request) -> np.ndarray:
    """(1920, 1088, 3) uint8 RGB: frame 0 of lab_single/cam03.mp4, the participant's head seen
    from behind-left (face turned away from the camera)."""
    from anonymotion.io.video import iter_frames

    get: Callable[[str], Path] = request.getfixturevalue("shared_data")
    return next(iter(iter_frames(get("lab_single/cam03.mp4"), strict=False))).rgb


@pytest.fixture(scope="module")
def lab_back_head() -> tuple[int, int, int, int]:
    """Hand-annotated head in ``lab_back`` (cap to chin, back of the head to the ear): x1, y1, x2, y2."""
    return (565, 420, 670, 575)
