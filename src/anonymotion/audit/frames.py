"""Reading the two videos of an audit side by side, and the reviewer's crops of leaked faces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.audit.faces import FaceCheck
from anonymotion.errors import InputError
from anonymotion.types import Frame


def pairs(orig_path: Path | None, orig_info: Any, anon_path: Path, anon_info: Any,
           max_frames: int | None, damage: Any = None) -> Iterator[tuple[Frame | None, Frame]]:
    """Yield (original frame or None, anonymized frame) matched by index.

    damage: a DecodeDamage that collects the original's damaged and lost frames; a packet the
    decoder rejects is then counted there instead of failing the audit (an original the user
    accepted as damaged was anonymized from the same decodable frames).
    """
    from anonymotion.io.video import iter_frames

    anon_frames = iter_frames(anon_path, anon_info, strict=max_frames is None)
    if orig_path is None:
        for n, anon in enumerate(anon_frames):
            if max_frames is not None and n >= max_frames:
                return
            yield None, anon
        return
    orig_frames = iter_frames(orig_path, orig_info, strict=max_frames is None, damage=damage)
    n = 0
    while max_frames is None or n < max_frames:
        orig = next(orig_frames, None)
        anon = next(anon_frames, None)
        if orig is None and anon is None:
            return
        if orig is None or anon is None:
            longer = "anonymized" if orig is None else "original"
            raise InputError(anon_path, f"frame counts differ: the {longer} video has more than {n} frames; "
                                        "frames are matched by index, so both must have the same count")
        yield orig, anon
        n += 1


def write_crop(folder: Path, rgb: np.ndarray, check: FaceCheck) -> Path:
    """Save the anonymized frame's pixels around a leaked face (box + 25 % margin) as PNG."""
    import cv2

    from anonymotion.io.writer import ensure_writable_dir

    ensure_writable_dir(folder)
    x1, y1, x2, y2 = check.box
    mx, my = 0.25 * (x2 - x1), 0.25 * (y2 - y1)
    h, w = rgb.shape[:2]
    a, b = int(max(0, x1 - mx)), int(max(0, y1 - my))
    c, d = int(min(w, np.ceil(x2 + mx))), int(min(h, np.ceil(y2 + my)))
    path = folder / f"leak_f{check.frame:06d}_face{check.track:04d}.png"
    crop = np.ascontiguousarray(rgb[b:max(d, b + 1), a:max(c, a + 1), ::-1])
    if not cv2.imwrite(str(path), crop):
        from anonymotion.errors import OutputError

        raise OutputError(path, "cannot write the leak crop")
    return path
