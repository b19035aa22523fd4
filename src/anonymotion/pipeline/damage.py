"""Damaged input: refused by default, or anonymized with each damaged frame covered whole.

A frame the decoder flagged (see :mod:`anonymotion.io.damage`) may hide a face from the
detector behind smeared blocks, so no region found on it can be trusted. By default the
pipeline stops writing at the first damaged frame, decodes the rest only to count the damage,
and raises :class:`DamagedInputError` (one line: file, number of damaged frames, first damaged
time); nothing is left behind. With ``accept_damaged`` the output is written, every damaged
frame is blurred whole (:func:`cover_whole`) and the manifest and regions file list them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from anonymotion.errors import DamagedInputError, PartialDecodeError
from anonymotion.io.damage import DecodeDamage
from anonymotion.types import Frame

#: Short side, in pixels, a damaged frame is shrunk to before being enlarged again: about
#: 8 colour cells across, so no face in it keeps more than a few cells (nothing recognisable).
COVER_CELLS = 8
COVER = f"whole frame blurred (shrunk to {COVER_CELLS} px across its short side and enlarged)"


def cover_whole(rgb: np.ndarray, cells: int = COVER_CELLS) -> np.ndarray:
    """Blur the whole (H, W, 3) uint8 frame beyond recognition: area-shrink so the short side
    is ``cells`` px, then enlarge bilinearly to (H, W). Returns a new array."""
    h, w = rgb.shape[:2]
    scale = cells / max(1, min(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def refuse(path: Path, frames: Iterator[Frame], damage: DecodeDamage) -> DamagedInputError:
    """Decode the rest of ``frames`` only to count the damage; the error to raise for ``path``."""
    also = ""
    try:
        for _ in frames:
            pass
    except PartialDecodeError as exc:  # truncated as well: say so in the same line
        also = f"; {exc.problem}"
    return DamagedInputError(path, f"{damage.describe()}{also}; nothing was written. A face can hide in a damaged "
                                   f"frame: repair or re-export the file, or use --accept-damaged to anonymize "
                                   f"it with every damaged frame blurred whole",
                             frames=damage.count, first_t=damage.first_t)
