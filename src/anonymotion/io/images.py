"""Still images: read upright RGB (EXIF orientation applied), write with no metadata at all.

The written file carries pixels only: no EXIF, XMP, IPTC, ICC profile, comments or text
chunks. It is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from anonymotion.errors import InputError, OutputError
from anonymotion.io.writer import commit_file, ensure_writable_dir, temp_path_for

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode ``path`` to an upright (H, W, 3) uint8 RGB array; InputError when it cannot."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")
    try:
        with Image.open(path) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
            return np.asarray(upright.convert("RGB")).copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"not a readable image ({exc})") from None


def write_image(path: str | os.PathLike, rgb: np.ndarray, *, quality: int = 95) -> Path:
    """Write (H, W, 3) uint8 RGB to ``path`` (JPEG or PNG by suffix) with no metadata."""
    from PIL import Image

    path = Path(path)
    ensure_writable_dir(path.parent)
    tmp = temp_path_for(path)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    try:
        img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), mode="RGB")
        if fmt == "JPEG":
            img.save(tmp, format=fmt, quality=quality, exif=b"", icc_profile=None, optimize=True)
        else:
            img.save(tmp, format=fmt, optimize=True)
        commit_file(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, f"cannot write image ({exc})") from None
    return path
