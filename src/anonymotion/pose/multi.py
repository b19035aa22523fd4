"""The multi-person pose backend ``mediapipe-multi``: every person in the frame, small ones too.

Three parts, all MediaPipe Tasks PoseLandmarker (:mod:`anonymotion.pose.landmarker`):

- the **full-frame model** (VIDEO mode, ``num_poses``) on every ``detect_every``-th frame;
- a **search for small persons**: the model in IMAGE mode on overlapping square tiles (side
  ``tile`` x the shorter frame side). MediaPipe's person detector sees a 224 px image, so in
  a 1080x1920 frame a bystander 400 px tall is too small for it; in a 720 px tile it is
  found. All tiles are searched on the first frame; after that the tiles are visited in
  turn, a few per frame, so that one sweep over all of them takes ``search_every`` seconds
  (a person the detector misses on one frame is tried again on other frames, and the cost is
  spread evenly). The sweep is adaptive: after a followed person was lost or someone new was
  found it takes ``search_min`` seconds, and twice as long after each sweep that found
  nobody new, up to ``search_every``;
- **crop followers** (:class:`~anonymotion.pose.crops.CropFollower`): a person found by the
  search, or (with ``detect_every`` > 1) by the full-frame model, is followed on a crop
  around it in every frame; the follower is dropped when it loses the person or when the
  full-frame model finds the same person.

The result has no identities (see :mod:`anonymotion.track.persons`). At most ``num_poses``
persons are returned per frame (the most visible ones).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from anonymotion.errors import ConfigError
from anonymotion.pose.backend import PersonsFrame, PoseFrame
from anonymotion.pose.crops import CropFollower, box_iou, keypoint_boxes, same_person
from anonymotion.pose.landmarker import PoseLandmarkerModel
from anonymotion.pose.skeletons import MEDIAPIPE_33

log = logging.getLogger(__name__)


def tile_grid(width: int, height: int, share: float = 2 / 3, overlap: float = 0.5) -> list[tuple[int, int, int, int]]:
    """Overlapping square tiles (x1, y1, x2, y2) px covering a width x height frame.

    Side = ``share`` x the shorter side; neighbours overlap by ``overlap`` x the side (half: a
    person up to half a tile tall lies wholly inside some tile).
    Empty when the side would be under 256 px (the tile would be no sharper than the frame).
    """
    side = int(round(share * min(width, height)))
    if side < 256 or share >= 1:
        return []

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        n = math.ceil((length - side) / ((1 - overlap) * side)) + 1
        return [int(round(v)) for v in np.linspace(0, length - side, n)]

    return [(x, y, x + side, y + side) for y in starts(height) for x in starts(width)]


def _concat(parts: list[PersonsFrame], k: int, masks: bool, shape: tuple[int, int]) -> PersonsFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return PersonsFrame.empty(k)
    m = None
    if masks:
        m = np.concatenate([p.masks if p.masks is not None else np.zeros((len(p), *shape), np.float32)
                            for p in parts])
    return PersonsFrame(xy=np.concatenate([p.xy for p in parts]), score=np.concatenate([p.score for p in parts]),
                        world=np.concatenate([p.world for p in parts]), masks=m)


def _take(p: PersonsFrame, idx: list[int] | np.ndarray) -> PersonsFrame:
    idx = np.asarray(idx, int)
    return PersonsFrame(xy=p.xy[idx], score=p.score[idx], world=p.world[idx],
                        masks=None if p.masks is None else p.masks[idx])


def visibility_rank(p: PersonsFrame) -> np.ndarray:
    """Per person: mean visibility x keypoint-box height (px), the "most visible" order key."""
    boxes = keypoint_boxes(p.xy)
    return np.nan_to_num(p.score.mean(axis=1) * (boxes[:, 3] - boxes[:, 1]))


def dedupe(p: PersonsFrame, tolerance: float = 0.2) -> PersonsFrame:
    """The persons of one frame with duplicates removed (the model sometimes returns one
    person twice, from tracking and from a new detection): of two poses that are the same
    person (:func:`same_person`), the more visible one is kept."""
    if len(p) < 2:
        return p
    keep: list[int] = []
    for i in np.argsort(-visibility_rank(p)):
        if not any(same_person(p.xy[i], p.xy[j], tolerance) for j in keep):
            keep.append(int(i))
    return p if len(keep) == len(p) else _take(p, sorted(keep))


class MediaPipeMultiPose:
    """Up to ``num_poses`` persons per frame (33 landmarks, px; visibility; world landmarks, m;
    with ``masks=True`` a per-person (H, W) probability).

    Options: ``num_poses`` (default 4); ``detect_every`` (run the full-frame model on every
    n-th frame, follow persons on crops in between; default 1); ``search_every`` (longest
    time for one sweep over the tiles in search of small persons, seconds, 0 = never;
    default 1.0); ``search_min`` (shortest sweep, default 0.25 s); ``tile`` (tile
    side / shorter frame side, default 2/3); ``model`` ("full" only); ``min_detection_confidence``,
    ``min_presence_confidence``, ``min_tracking_confidence`` in [0, 1].
    """

    names: tuple[str, ...] = MEDIAPIPE_33

    def __init__(self, *, num_poses: int = 4, detect_every: int = 1, search_every: float = 1.0,
                 search_min: float = 0.25, tile: float = 2 / 3, masks: bool = False, model: str = "full",
                 min_detection_confidence: float = 0.5, min_presence_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        if int(detect_every) < 1:
            raise ConfigError(None, f"detect_every must be at least 1, got {detect_every}")
        if search_every < 0 or not 0 < tile <= 1:
            raise ConfigError(None, f"search_every must be >= 0 s and tile in (0, 1], got {search_every}, {tile}")
        self._opts = dict(model=model, min_detection_confidence=min_detection_confidence,
                          min_presence_confidence=min_presence_confidence,
                          min_tracking_confidence=min_tracking_confidence)
        self.num_poses = int(num_poses)
        self.detect_every = int(detect_every)
        self.search_every = float(search_every)
        self.search_min = min(float(search_min), self.search_every)
        self._sweep = self.search_every  # current time for one sweep over the tiles (s), adaptive
        self._budget = 0.0  # tiles owed to the sweep so far
        self._next_tile = 0
        self._news = False  # someone new found (or someone lost) during the current sweep
        self._last_t: float | None = None
        self.tile = float(tile)
        self.masks = bool(masks)
        self._full = PoseLandmarkerModel(num_poses=num_poses, masks=masks, **self._opts)
        self._search: PoseLandmarkerModel | None = None
        self._followers: list[CropFollower] = []
        self._index = 0
        self.searches = 0  # how many tiles were searched (for benchmarks and logs)

    def _follower_model(self) -> PoseLandmarkerModel:
        return PoseLandmarkerModel(num_poses=1, masks=self.masks, **self._opts)

    def _follow(self, candidates: PersonsFrame, known: list[np.ndarray], rgb: np.ndarray, t: float,
                room: int, fallback: bool = False) -> list[PersonsFrame]:
        """Start followers for candidates that are none of the ``known`` (K, 2) poses; their first results.

        fallback: a candidate whose follower finds nobody on its crop is still reported
        (for the full-frame model's persons; a tile candidate is then dropped).
        """
        h, w = rgb.shape[:2]
        out: list[PersonsFrame] = []
        boxes = keypoint_boxes(candidates.xy)
        for i in np.argsort(-visibility_rank(candidates)):
            if room <= 0:
                break
            if any(same_person(candidates.xy[i], xy) or box_iou(boxes[i], keypoint_boxes(xy[None])[0]) > 0.5
                   or part_of(boxes[i], xy) for xy in known):
                continue
            follower = CropFollower(self._follower_model, tuple(boxes[i]), w, h)
            first = follower.process(rgb, t, self.masks)
            if len(first) == 0 or any(same_person(first.xy[0], xy) for xy in known):
                follower.close()
                if fallback and len(first) == 0:  # the full-frame model's person, unfollowed
                    known.append(candidates.xy[i])
                    out.append(_take(candidates, [i]))
                    room -= 1
                continue
            self._followers.append(follower)
            known.append(first.xy[0])
            out.append(first)
            room -= 1
        return out

    def _tiles_now(self, width: int, height: int, t: float) -> list[tuple[int, int, int, int]]:
        """The tiles to search in this frame (all on the first frame, then in turn; see the module notes)."""
        if self.search_every <= 0:
            return []
        tiles = tile_grid(width, height, self.tile)
        if not tiles:
            return []
        if self._last_t is None:
            return tiles
        self._budget += len(tiles) * max(0.0, t - self._last_t) / self._sweep
        out = []
        while self._budget >= 1.0 and len(out) < len(tiles):
            out.append(tiles[self._next_tile])
            self._budget -= 1.0
            self._next_tile = (self._next_tile + 1) % len(tiles)
            if self._next_tile == 0:  # a sweep is complete: slow down unless it brought news
                self._sweep = self.search_min if self._news else min(2 * self._sweep, self.search_every)
                self._news = False
        return out

    def _search_tiles(self, rgb: np.ndarray, tiles: list[tuple[int, int, int, int]]) -> PersonsFrame:
        """Persons found on ``tiles`` (IMAGE mode), in full-frame pixels, duplicates across tiles removed."""
        h, w = rgb.shape[:2]
        if self._search is None:
            self._search = PoseLandmarkerModel(num_poses=2, video=False, **self._opts)
        found: list[PersonsFrame] = []
        kept: list[np.ndarray] = []
        for x1, y1, x2, y2 in tiles:
            p = self._search.process_all(np.ascontiguousarray(rgb[y1:y2, x1:x2]), 0.0)
            for i in range(len(p)):
                xy = p.xy[i] + np.array([x1, y1], np.float32)
                if not any(same_person(xy, q) for q in kept):
                    kept.append(xy)
                    found.append(PersonsFrame(xy=xy[None], score=p.score[i:i + 1], world=p.world[i:i + 1]))
        self.searches += len(tiles)
        return _concat(found, len(self.names), False, (h, w))

    def process_all(self, rgb: np.ndarray, t: float) -> PersonsFrame:
        """Every person (at most ``num_poses``) in an (H, W, 3) uint8 upright RGB frame at ``t`` seconds."""
        h, w = rgb.shape[:2]
        k = len(self.names)
        parts: list[PersonsFrame] = []
        followed = []
        for f in list(self._followers):
            r = f.process(rgb, t, self.masks)
            if f.lost or any(same_person(r.xy[0], q.xy[0]) for q in followed):
                if f.lost:  # look for whom we lost again soon
                    self._news = True
                    self._sweep = self.search_min
                self._followers.remove(f)
                f.close()
            else:
                followed.append(r)
        if self._index % self.detect_every == 0:
            full = self._full.process_all(rgb, t)
            if self.detect_every == 1:  # the full-frame model reports; followers only for whom it misses
                keep = []
                for f, r in zip(list(self._followers), followed):
                    if any(same_person(r.xy[0], xy) for xy in full.xy):
                        self._followers.remove(f)
                        f.close()
                    else:
                        keep.append(r)
                parts = [full, *keep]
            else:  # persons the full-frame model found are followed on crops until the next full frame
                parts = list(followed)
                known = [r.xy[0] for r in followed]
                parts += self._follow(full, known, rgb, t, self.num_poses - len(known), fallback=True)
        else:
            parts = list(followed)
        tiles = self._tiles_now(w, h, t)
        known = [xy for p in parts for xy in p.xy]
        if tiles and len(known) < self.num_poses:
            new = self._follow(self._search_tiles(rgb, tiles), known, rgb, t, self.num_poses - len(known))
            if new:
                self._news = True
                self._sweep = self.search_min
            parts += new
        self._last_t = t
        self._index += 1
        result = dedupe(_concat(parts, k, self.masks, (h, w)))
        if len(result) > self.num_poses:
            result = _take(result, np.sort(np.argsort(-visibility_rank(result))[: self.num_poses]))
        return result

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        """Single-person view: the most visible person of :meth:`process_all`."""
        persons = self.process_all(rgb, t)
        if len(persons) == 0:
            return PoseFrame.empty(len(self.names))
        best = int(np.argmax(visibility_rank(persons)))
        return PoseFrame(xy=persons.xy[best], score=persons.score[best], world=persons.world[best])

    def close(self) -> None:
        for model in [self._full, self._search, *self._followers]:
            if model is not None:
                model.close()
        self._followers = []
        self._search = None

    def __enter__(self) -> "MediaPipeMultiPose":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()




def part_of(box: np.ndarray, xy: np.ndarray, inside: float = 0.8, smaller: float = 0.5) -> bool:
    """True when ``box`` lies mostly (``inside`` of its area) within the keypoint box of pose
    ``xy`` (K, 2) and is under ``smaller`` x its height: a limb or a cut-off piece of that
    person found again on a tile, not another person."""
    b = keypoint_boxes(xy[None])[0]
    iw = max(0.0, min(box[2], b[2]) - max(box[0], b[0]))
    ih = max(0.0, min(box[3], b[3]) - max(box[1], b[1]))
    area = (box[2] - box[0]) * (box[3] - box[1])
    return bool(area > 0 and iw * ih >= inside * area and (box[3] - box[1]) < smaller * (b[3] - b[1]))
