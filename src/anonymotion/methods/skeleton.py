"""``skeleton``: the output shows only the pose skeleton, on a neutral or heavily blurred scene.

Privacy by construction: with ``background="neutral"`` no pixel of the input reaches the
output, only lines drawn from the keypoints. ``background="blur"`` keeps the scene's layout
under a Gaussian blur of sigma = ``strength`` x the frame's longer side (default 3 %, ~58 px
on a 1920 px frame). The method runs its own pose model over the frames in order (it
follows one person) and, when ``output_csv`` is set, writes every frame's keypoints there:
columns ``frame, t, <name>_x, <name>_y, <name>_score`` for each keypoint, pixels and
visibility, empty where no person was found. The CSV is written under a temporary name and
renamed by :meth:`Skeleton.close` (:meth:`Skeleton.abort` removes it).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TextIO

import numpy as np

from anonymotion.methods.base import Lifecycle
from anonymotion.methods.basic import Blur
from anonymotion.errors import ConfigError
from anonymotion.io.writer import commit_file
from anonymotion.types import Regions

log = logging.getLogger(__name__)

NEUTRAL = (96, 96, 96)  # RGB grey of the neutral background


@dataclass
class Skeleton(Lifecycle):
    """Pose skeleton drawn on a neutral (or blurred) background; keypoints to ``output_csv``.

    background: "neutral" or "blur"; strength: blur sigma as a share of the longer frame side;
    min_score: keypoints below this visibility are not drawn (still written to the CSV);
    fps: frames per second used for the CSV's ``t`` when :meth:`apply` is not given ``t``
    (``t`` stays empty when neither is known).
    """

    background: str = "neutral"
    strength: float | None = None
    min_score: float = 0.5
    output_csv: Path | None = None
    fps: float = 0.0
    backend: str = "mediapipe"
    name: ClassVar[str] = "skeleton"
    default_regions: ClassVar[tuple[str, ...]] = ()
    _pose: Any = field(default=None, init=False, repr=False)
    _csv: tuple[Path, TextIO, Any] | None = field(default=None, init=False, repr=False)
    _index: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.background not in ("neutral", "blur"):
            raise ConfigError(None, f"--background must be neutral or blur, not {self.background!r}")
        if self.strength is not None and not 0 < self.strength <= 1:
            raise ConfigError(None, f"--strength must be in (0, 1] for skeleton, not {self.strength}")

    def _backend(self):
        if self._pose is None:
            from anonymotion.pose.backend import make_pose_backend

            self._pose = make_pose_backend(self.backend)
        return self._pose

    def background_of(self, rgb: np.ndarray) -> np.ndarray:
        """The canvas the skeleton is drawn on, (H, W, 3) uint8."""
        h, w = rgb.shape[:2]
        if self.background == "neutral":
            return np.full((h, w, 3), NEUTRAL, np.uint8)
        strength = self.strength if self.strength is not None else 0.03
        return Blur(strength=strength).transform(rgb, float(max(h, w)))

    def apply(self, rgb: np.ndarray, regions: Regions, t: float | None = None) -> np.ndarray:
        """Skeleton frame for an (H, W, 3) uint8 frame; ``t`` seconds (default index / fps)."""
        index = self._index
        self._index += 1
        known_t = t if t is not None else (index / self.fps if self.fps > 0 else None)
        backend = self._backend()
        pose = backend.process(rgb, known_t if known_t is not None else float(index))
        if self.output_csv is not None:
            self._write_row(index, known_t, backend.names, pose.xy, pose.score)
        from anonymotion.pose.skeletons import draw_skeleton

        return draw_skeleton(self.background_of(rgb), pose.xy, pose.score, threshold=self.min_score,
                             names=tuple(backend.names))

    def _write_row(self, index: int, t: float | None, names: tuple[str, ...], xy: np.ndarray,
                   score: np.ndarray) -> None:
        if self._csv is None:
            from anonymotion.io.writer import ensure_writable_dir, temp_path_for

            final = Path(self.output_csv)  # type: ignore[arg-type]
            ensure_writable_dir(final.parent)
            tmp = temp_path_for(final)
            fh = open(tmp, "w", newline="", encoding="utf-8")
            writer = csv.writer(fh)
            writer.writerow(["frame", "t"] + [f"{n}_{c}" for n in names for c in ("x", "y", "score")])
            self._csv = (tmp, fh, writer)
        row: list[object] = [index, "" if t is None else f"{t:.6f}"]
        for k in range(len(names)):
            if np.isfinite(xy[k]).all():
                row += [f"{xy[k, 0]:.2f}", f"{xy[k, 1]:.2f}", f"{score[k]:.4f}"]
            else:
                row += ["", "", ""]
        self._csv[2].writerow(row)

    def close(self) -> None:
        """Release the pose model and move the finished CSV to ``output_csv``."""
        self._finish(keep=True)

    def abort(self) -> None:
        """Release the pose model and delete the unfinished CSV."""
        self._finish(keep=False)

    def _finish(self, keep: bool) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None
        if self._csv is not None:
            tmp, fh, _ = self._csv
            self._csv = None
            fh.close()
            if keep:
                commit_file(tmp, Path(self.output_csv))  # type: ignore[arg-type]
            else:
                tmp.unlink(missing_ok=True)
