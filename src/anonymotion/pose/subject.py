"""Follow one subject: run pose on a region that moves with that person.

The legacy MediaPipe model follows one person and can jump to another one in a
multi-person video. :class:`SubjectFollower` wraps a backend: the subject is picked once
(``auto``: the first person the model finds in the full frame; or the person at a point /
inside a box the user gives), then each frame is cropped around the subject's keypoints of
the previous frame (with a margin), pose runs on the crop, and keypoints are mapped back
to full-frame pixels. A detection whose hip centre moved too far from the subject's last
position, or whose size changed too much, is rejected: that frame is reported as *lost*
(NaN keypoints), never filled with someone else. The follower is itself a PoseBackend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from anonymotion.errors import ConfigError
from anonymotion.pose.backend import PoseBackend, PoseFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubjectSpec:
    """Which person to follow: mode "auto", "point" ((x, y) px) or "box" ((x1, y1, x2, y2) px)."""

    mode: str
    point: tuple[float, float] | None = None
    box: tuple[float, float, float, float] | None = None

    def describe(self) -> str:
        if self.mode == "point":
            return f"point {self.point[0]:g},{self.point[1]:g}"  # type: ignore[index]
        if self.mode == "box":
            return "box " + ",".join(f"{v:g}" for v in self.box)  # type: ignore[union-attr]
        return "auto"


def parse_subject(value: str | SubjectSpec | tuple | None) -> SubjectSpec | None:
    """Parse ``--subject``: None, "auto", "X,Y" (a point) or "X1,Y1,X2,Y2" (a box), pixels."""
    if value is None or isinstance(value, SubjectSpec):
        return value
    if isinstance(value, (tuple, list)):
        nums = [float(v) for v in value]
    else:
        text = str(value).strip().lower()
        if text in ("", "none", "off"):
            return None
        if text == "auto":
            return SubjectSpec("auto")
        try:
            nums = [float(v) for v in text.replace(" ", "").split(",")]
        except ValueError:
            raise ConfigError(None, f"--subject must be 'auto', 'X,Y' or 'X1,Y1,X2,Y2' pixels, got {value!r}") from None
    if len(nums) == 2:
        return SubjectSpec("point", point=(nums[0], nums[1]))
    if len(nums) == 4:
        x1, y1, x2, y2 = nums
        if x2 <= x1 or y2 <= y1:
            raise ConfigError(None, f"--subject box needs X1 < X2 and Y1 < Y2, got {value!r}")
        return SubjectSpec("box", box=(x1, y1, x2, y2))
    raise ConfigError(None, f"--subject must be 'auto', 'X,Y' or 'X1,Y1,X2,Y2' pixels, got {value!r}")


def keypoint_box(xy: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x1, y1, x2, y2) of the finite keypoints in (K, 2), or None."""
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return None
    p = xy[ok]
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


def _hips_and_torso(xy: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """Hip centre (2,) and torso length (mid-shoulder to mid-hip, px) of one pose."""
    hip = xy[[names.index("left_hip"), names.index("right_hip")]].mean(axis=0)
    sho = xy[[names.index("left_shoulder"), names.index("right_shoulder")]].mean(axis=0)
    return hip, float(np.linalg.norm(sho - hip))


class SubjectFollower:
    """A PoseBackend that keeps pose on one subject by cropping around it every frame.

    make_backend: factory of the wrapped backend (re-made after a rejected detection, so
    the model stops tracking the wrong person). margin: crop side = keypoint box side ×
    (1 + 2 × margin). max_jump: largest accepted hip-centre move from the last accepted
    position, in torso lengths; after n frames lost it is max_jump + catch_up × n, at most
    max_reacquire (so the follower may pick the subject up again after an occlusion without
    jumping to someone else standing further away). ``lost`` lists the frame numbers
    (0-based, in call order) where the subject was not found.
    """

    def __init__(
        self,
        make_backend: Callable[[], PoseBackend],
        spec: SubjectSpec,
        *,
        margin: float = 0.35,
        max_jump: float = 0.5,
        catch_up: float = 0.05,
        max_reacquire: float = 1.5,
        max_scale_change: float = 1.6,
        min_side: int = 96,
    ) -> None:
        self._make = make_backend
        self._backend = make_backend()
        self.names = self._backend.names
        self.spec = spec
        self.margin = margin
        self.max_jump = max_jump
        self.catch_up = catch_up
        self.max_reacquire = max_reacquire
        self.max_scale_change = max_scale_change
        self.min_side = min_side
        self.lost: list[int] = []
        self._index = 0
        self._hip: np.ndarray | None = None
        self._torso = 0.0
        self._crop: tuple[int, int, int, int] | None = None  # x1, y1, x2, y2 of the last crop
        self._missing = 0
        self.acquired_at: int | None = None

    # -- crop geometry -------------------------------------------------------------------
    def _square(self, box: tuple[float, float, float, float], scale: float, w: int, h: int) -> tuple[int, int, int, int]:
        x1, y1, x2, y2 = box
        side = max(x2 - x1, y2 - y1) * scale
        side = int(round(min(max(side, self.min_side), max(w, h))))
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        sw, sh = min(side, w), min(side, h)
        left = int(round(min(max(cx - sw / 2, 0), w - sw)))
        top = int(round(min(max(cy - sh / 2, 0), h - sh)))
        return left, top, left + sw, top + sh

    def _initial_crop(self, w: int, h: int) -> tuple[int, int, int, int] | None:
        if self.spec.mode == "box":
            return self._square(self.spec.box, 1 + 2 * self.margin, w, h)  # type: ignore[arg-type]
        if self.spec.mode == "point":
            x, y = self.spec.point  # type: ignore[misc]
            side = 0.5 * min(w, h)
            return self._square((x - side / 2, y - side / 2, x + side / 2, y + side / 2), 1.0, w, h)
        return None  # auto: the full frame

    # -- acceptance ----------------------------------------------------------------------
    def _matches_spec(self, xy: np.ndarray) -> bool:
        box = keypoint_box(xy)
        if box is None:
            return False
        hip, _ = _hips_and_torso(xy, self.names)
        if self.spec.mode == "point":
            x, y = self.spec.point  # type: ignore[misc]
            bw, bh = box[2] - box[0], box[3] - box[1]
            return box[0] - 0.1 * bw <= x <= box[2] + 0.1 * bw and box[1] - 0.1 * bh <= y <= box[3] + 0.1 * bh
        if self.spec.mode == "box":
            x1, y1, x2, y2 = self.spec.box  # type: ignore[misc]
            return bool(x1 <= hip[0] <= x2 and y1 <= hip[1] <= y2)
        return True

    def _continues(self, xy: np.ndarray) -> bool:
        hip, torso = _hips_and_torso(xy, self.names)
        if self._hip is None or not np.isfinite(hip).all() or torso <= 0:
            return bool(np.isfinite(hip).all())
        jump = float(np.linalg.norm(hip - self._hip))
        allowed = self._torso * min(self.max_jump + self.catch_up * self._missing, self.max_reacquire)
        ratio = torso / self._torso if self._torso > 0 else 1.0
        ok = jump <= allowed and 1 / self.max_scale_change <= ratio <= self.max_scale_change
        if not ok:
            log.debug("frame %d: rejected detection (hip moved %.1f px, allowed %.1f; size ratio %.2f)",
                      self._index, jump, allowed, ratio)
        return ok

    # -- PoseBackend ---------------------------------------------------------------------
    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        """Pose of the subject in the full (H, W, 3) frame; empty (and recorded as lost) if not found."""
        h, w = rgb.shape[:2]
        if self._hip is None and self._crop is None:
            self._crop = self._initial_crop(w, h)
        crop = self._crop or (0, 0, w, h)
        x1, y1, x2, y2 = crop
        pf = self._backend.process(np.ascontiguousarray(rgb[y1:y2, x1:x2]), t)
        accepted = False
        if pf.found:
            xy = pf.xy + np.array([x1, y1], np.float32)
            first = self._hip is None
            accepted = self._matches_spec(xy) if first else self._continues(xy)
            if accepted:
                pf = PoseFrame(xy=xy.astype(np.float32), score=pf.score, world=pf.world)
                hip, torso = _hips_and_torso(xy, self.names)
                self._hip, self._torso = hip, torso
                self._missing = 0
                if first:
                    self.acquired_at = self._index
                    log.info("subject (%s) acquired at frame %d", self.spec.describe(), self._index)
                box = keypoint_box(xy)
                self._crop = self._square(box, 1 + 2 * self.margin, w, h)  # type: ignore[arg-type]
            else:
                self._reset_backend()
        if not accepted:
            if self._hip is not None:
                self.lost.append(self._index)
                self._missing += 1  # the crop stays where the subject was last seen
            pf = PoseFrame.empty(len(self.names))
        self._index += 1
        return pf

    def _reset_backend(self) -> None:
        self._backend.close()
        self._backend = self._make()

    def close(self) -> None:
        self._backend.close()
