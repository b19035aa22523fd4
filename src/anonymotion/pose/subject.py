"""Follow one subject: run pose on a region that moves with that person.

The legacy MediaPipe model follows one person and can jump to another one in a
multi-person video. :class:`SubjectFollower` wraps a backend: the subject is picked once
(``auto``: the first person the model finds in the full frame; or the person at a point /
inside a box the user gives), then each frame is cropped around the subject's keypoints of
the previous frame (with a margin; the crop stays put while the subject is well inside
it), pose runs on the crop, and keypoints are mapped back to full-frame pixels. A detection whose hip centre moved too far from the subject's last
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


def _most_visible_person(rgb: np.ndarray, t: float, make_backend: Callable[[], PoseBackend],
                         accept: Callable[[np.ndarray], bool] | None = None,
                         regions: list[tuple[int, int, int, int]] | None = None,
                         ) -> tuple[tuple[int, int, int, int], PoseFrame, PoseBackend] | None:
    """The most visible person in a frame (``--subject auto``, or the person at a point).

    The one-person model runs on the full frame and on four overlapping tiles of 60 % size
    (so smaller people away from the camera are found too); each person found is scored
    by mean visibility × body height; ``accept(xy)`` (full-frame (K, 2) px) may veto a
    candidate; ``regions`` (x1, y1, x2, y2 px) replace the full frame and tiles. Returns (region,
    its pose in region pixels, the backend that found it — now tracking that person there), or None.
    """
    h, w = rgb.shape[:2]
    tw, th = int(w * 0.6), int(h * 0.6)
    if regions is None:
        regions = [(0, 0, w, h)] + [(x, y, x + tw, y + th) for y in (0, h - th) for x in (0, w - tw)]
    best: tuple[float, tuple[int, int, int, int], PoseFrame, PoseBackend] | None = None
    found = 0
    for region in regions:
        x1, y1, x2, y2 = region
        backend = make_backend()
        keep = False
        try:
            pf = backend.process(np.ascontiguousarray(rgb[y1:y2, x1:x2]), t)
            box = keypoint_box(pf.xy)
            if box is not None and (accept is None or accept(pf.xy + np.array([x1, y1], np.float32))):
                found += 1
                quality = float(np.mean(pf.score)) * (box[3] - box[1])
                if best is None or quality > best[0]:
                    if best is not None:
                        best[3].close()
                    best, keep = (quality, region, pf, backend), True
        finally:
            if not keep:
                backend.close()
    if best is None:
        return None
    log.info("auto subject: %d candidate detections, best in region %s", found, best[1])
    return best[1], best[2], best[3]


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
        max_jump: float = 0.6,
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
        self.crops: list[tuple[int, int, int, int]] = []  # crop used in each frame (full-frame px)
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

    def _fits(self, box: tuple[float, float, float, float], w: int, h: int) -> bool:
        """Keep the current crop while the subject stays well inside it and is not much smaller.

        A crop that does not move with every pixel of keypoint jitter gives the same input
        to the model for an original and its anonymized copy, so their difference is the
        anonymization's, not the crop's.
        """
        if self._crop is None:
            return False
        x1, y1, x2, y2 = self._crop
        side = max(box[2] - box[0], box[3] - box[1])
        pad = 0.5 * self.margin * side
        inside = (box[0] - pad >= x1 or x1 == 0) and (box[1] - pad >= y1 or y1 == 0) \
            and (box[2] + pad <= x2 or x2 == w) and (box[3] + pad <= y2 or y2 == h)
        wanted = max(side * (1 + 2 * self.margin), self.min_side)
        return bool(inside and max(x2 - x1, y2 - y1) <= 2.0 * wanted)

    def _box_regions(self, w: int, h: int) -> list[tuple[int, int, int, int]]:
        """Where a box subject is looked for: a square around the box, and the box itself plus 15 %.

        The second keeps a tall, narrow person standing beside a more visible one from sharing
        the crop with them (the model would pick the other one, whose hip is outside the box).
        """
        x1, y1, x2, y2 = self.spec.box  # type: ignore[misc]
        mx, my = 0.15 * (x2 - x1), 0.15 * (y2 - y1)
        bx1, by1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
        bx2, by2 = int(min(w, max(x2 + mx, bx1 + self.min_side))), int(min(h, max(y2 + my, by1 + self.min_side)))
        return [self._initial_crop(w, h), (bx1, by1, bx2, by2)]  # type: ignore[list-item]

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
        best = None
        if self._hip is None and (self.spec.mode == "point" or (self.spec.mode == "auto" and self._index == 0)):
            best = _most_visible_person(rgb, t, self._make, self._matches_spec)
        elif self._hip is None and self.spec.mode == "box":
            best = _most_visible_person(rgb, t, self._make, self._matches_spec, self._box_regions(w, h))
        if best is not None:  # the chosen candidate, already posed in its region
            crop, pf, backend = best
            self._backend.close()
            self._backend = backend
            self._crop = crop
        else:
            if self._hip is None and self._crop is None:
                self._crop = self._initial_crop(w, h)
            crop = self._crop or (0, 0, w, h)
            pf = self._backend.process(np.ascontiguousarray(rgb[crop[1]:crop[3], crop[0]:crop[2]]), t)
        x1, y1, x2, y2 = crop
        self.crops.append(crop)
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
                if not self._fits(box, w, h):  # type: ignore[arg-type]
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


@dataclass(frozen=True)
class ReplaySpec:
    """Follow the subject of a reference run: same crop in every frame, same person.

    crops: (T, 4) int x1, y1, x2, y2 used in the reference run; hips: (T, 2) the
    reference subject's hip centre (NaN where it was lost); torso: (T,) its torso length (px).
    """

    crops: np.ndarray
    hips: np.ndarray
    torso: np.ndarray

    def describe(self) -> str:
        return "replay of the reference subject"


class ReplayFollower:
    """A PoseBackend that runs pose on the reference run's crops, frame for frame.

    An original and its anonymized copy then give the model exactly the same regions, so
    a difference is the anonymization's. A detection farther than ``max_jump`` torso
    lengths from the reference subject's hip centre (someone else) is rejected and the
    frame reported lost; frames beyond the reference's length use the full frame.
    """

    def __init__(self, make_backend: Callable[[], PoseBackend], spec: ReplaySpec, *, max_jump: float = 0.5) -> None:
        self._make = make_backend
        self._backend = make_backend()
        self.names = self._backend.names
        self.spec = spec
        self.max_jump = max_jump
        self.lost: list[int] = []
        self._index = 0

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        h, w = rgb.shape[:2]
        i = self._index
        self._index += 1
        if i < len(self.spec.crops):
            x1, y1, x2, y2 = (int(v) for v in self.spec.crops[i])
        else:
            x1, y1, x2, y2 = 0, 0, w, h
        pf = self._backend.process(np.ascontiguousarray(rgb[y1:y2, x1:x2]), t)
        ref_hip = self.spec.hips[i] if i < len(self.spec.hips) else np.array([np.nan, np.nan])
        if pf.found and np.isfinite(ref_hip).all():
            xy = (pf.xy + np.array([x1, y1], np.float32)).astype(np.float32)
            hip, _ = _hips_and_torso(xy, self.names)
            if np.linalg.norm(hip - ref_hip) <= self.max_jump * float(self.spec.torso[i]):
                return PoseFrame(xy=xy, score=pf.score, world=pf.world)
            log.debug("frame %d: detection %.0f px from the reference subject, rejected", i,
                      float(np.linalg.norm(hip - ref_hip)))
            self._backend.close()
            self._backend = self._make()
        if np.isfinite(ref_hip).all():
            self.lost.append(i)
        return PoseFrame.empty(len(self.names))

    def close(self) -> None:
        self._backend.close()
