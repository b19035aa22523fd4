"""Stable person ids across frames from per-frame keypoints (pure numpy + scipy).

A multi-person pose model returns the persons of each frame in no particular order.
:class:`PersonTracker` gives each one an id that stays with that person:

- every track predicts its keypoints at the new frame time with a constant-velocity
  model (velocity smoothed over frames, damped while the person is not seen);
- the cost of pairing a track with a detection is the mean keypoint distance between
  prediction and detection (weighted by visibility, the farthest quarter of keypoints left
  out: a swapped limb does not change who it is) divided by the track's size (longer
  side of its keypoint box), so the same gate works for near and far persons;
- assignment: :func:`scipy.optimize.linear_sum_assignment` on that cost; pairs above the
  gate (which widens with the time a track has been unseen) are refused;
- a track unseen for up to ``max_gap`` seconds keeps its id (short occlusion, missed
  frames); after that it ends. Ids are never reused: a new person gets the next number;
- a track seen in fewer than ``min_hits`` frames is tentative: it pays ``tentative_cost``
  extra in the assignment (a detection near an established person and near a one-frame
  duplicate of it goes to the established one) and ends as soon as it is missed.

Units: keypoints (K, 2) float pixels; times in seconds. Ids are ints starting at 1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

log = logging.getLogger(__name__)


def pose_size(xy: np.ndarray) -> float:
    """Longer side (px) of the box around the finite keypoints of one (K, 2) pose; 0 when none."""
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return 0.0
    span = xy[ok].max(axis=0) - xy[ok].min(axis=0)
    return float(span.max())


def pose_cost(pred: np.ndarray, det: np.ndarray, w_pred: np.ndarray, w_det: np.ndarray, size: float,
              trim: float = 0.25) -> float:
    """Mean keypoint distance between two (K, 2) poses in units of ``size`` px (inf when nothing compares).

    w_pred, w_det: (K,) visibility in [0, 1]; each keypoint weighs 0.1 + min of the two
    (occluded keypoints still count a little: a model places them on the body). The
    ``trim`` share of keypoints farthest apart is left out, so a limb the model swapped or
    misplaced in one frame (a few keypoints jumping) does not make the person someone else.
    """
    d = np.linalg.norm(pred - det, axis=1)
    w = 0.1 + np.minimum(w_pred, w_det)
    ok = np.isfinite(d)
    if not ok.any() or size <= 0:
        return float("inf")
    d, w = d[ok], w[ok]
    keep = d <= np.quantile(d, 1.0 - trim) if trim > 0 and d.size > 3 else np.ones(d.size, bool)
    return float(np.sum(d[keep] * w[keep]) / np.sum(w[keep]) / size)


def mirror_permutation(names: tuple[str, ...]) -> np.ndarray | None:
    """Index permutation (K,) that swaps every ``left_*`` keypoint with its ``right_*`` twin, or
    None when the names have no such pairs. Models sometimes return a person left/right
    flipped; comparing against the flipped pose too keeps that person's id."""
    perm = np.arange(len(names))
    pairs = 0
    for i, n in enumerate(names):
        for a, b in (("left_", "right_"), ("right_", "left_")):
            if n.startswith(a) and b + n[len(a):] in names:
                perm[i] = names.index(b + n[len(a):])
                pairs += 1
    return perm if pairs else None


def person_cost(pred: np.ndarray, det: np.ndarray, w_pred: np.ndarray, w_det: np.ndarray, size: float,
                mirror: np.ndarray | None = None) -> float:
    """:func:`pose_cost`, also against the left/right flipped detection when ``mirror`` is given (the lower)."""
    c = pose_cost(pred, det, w_pred, w_det, size)
    if mirror is not None:
        c = min(c, pose_cost(pred, det[mirror], w_pred, w_det[mirror], size))
    return c


@dataclass
class Track:
    """One person's state: last keypoints (K, 2) px, velocity (K, 2) px/s, visibility (K,)."""

    id: int
    xy: np.ndarray
    score: np.ndarray
    t: float
    velocity: np.ndarray
    size: float
    hits: int = 1
    first_t: float = 0.0

    def predict(self, t: float, damping: float) -> np.ndarray:
        """Keypoints expected at time ``t``: last + velocity x gap, the velocity fading by
        ``damping`` per second of gap (a person who vanished is not extrapolated far)."""
        gap = max(0.0, t - self.t)
        fade = np.exp(-damping * gap)
        # displacement = v * integral_0^gap exp(-damping s) ds
        travel = gap if damping <= 0 else (1 - fade) / damping
        v = np.nan_to_num(self.velocity)
        return self.xy + v * travel


class PersonTracker:
    """Assigns stable ids to the persons of each frame.

    gate: largest accepted cost (mean keypoint distance / person size) for a track seen in
    the previous frame; it grows by ``gate_growth`` per second unseen, up to ``max_gate``.
    max_gap: seconds a track may go unseen and still keep its id. smoothing: weight of the
    newest velocity measurement (exponential smoothing). damping: 1/s fade of the velocity
    while unseen. min_hits, tentative_cost: see the module notes. mirror: keypoint
    permutation swapping left and right (:func:`mirror_permutation`): a person the model
    returns flipped stays the same person.
    """

    def __init__(self, *, gate: float = 0.35, gate_growth: float = 1.0, max_gate: float = 1.0,
                 max_gap: float = 1.0, smoothing: float = 0.5, damping: float = 2.0, min_hits: int = 3,
                 tentative_cost: float = 0.1, mirror: np.ndarray | None = None) -> None:
        self.gate = gate
        self.gate_growth = gate_growth
        self.max_gate = max_gate
        self.max_gap = max_gap
        self.smoothing = smoothing
        self.damping = damping
        self.min_hits = min_hits
        self.tentative_cost = tentative_cost
        self.mirror = mirror
        self.tracks: list[Track] = []
        self._next_id = 1
        self._last_t: float | None = None

    def _gate(self, track: Track, t: float) -> float:
        return min(self.gate + self.gate_growth * max(0.0, t - track.t - self._frame_dt), self.max_gate)

    def update(self, xy: np.ndarray, score: np.ndarray, t: float) -> np.ndarray:
        """Ids (N,) int64 for the N persons of the frame at ``t`` seconds (increasing).

        xy: (N, K, 2) float pixels; score: (N, K) visibility in [0, 1].
        """
        xy = np.asarray(xy, np.float32)
        score = np.asarray(score, np.float32)
        n = xy.shape[0]
        self._frame_dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        # tracks unseen for too long end here (their ids are never given again)
        self.tracks = [tr for tr in self.tracks if t - tr.t <= self.max_gap + 1e-9]
        ids = np.full(n, -1, np.int64)
        matched: set[int] = set()
        if self.tracks and n:
            cost = np.full((len(self.tracks), n), np.inf)
            for a, tr in enumerate(self.tracks):
                pred = tr.predict(t, self.damping)
                gate = self._gate(tr, t)
                for b in range(n):
                    c = person_cost(pred, xy[b], tr.score, score[b], max(tr.size, pose_size(xy[b])), self.mirror)
                    if c <= gate:
                        cost[a, b] = c + (self.tentative_cost if tr.hits < self.min_hits else 0.0)
            finite = np.isfinite(cost)
            if finite.any():
                big = float(cost[finite].max()) * 10 + 1.0
                rows, cols = linear_sum_assignment(np.where(finite, cost, big))
                for a, b in zip(rows, cols):
                    if finite[a, b]:
                        ids[b] = self.tracks[a].id
                        self._advance(self.tracks[a], xy[b], score[b], t)
                        matched.add(int(a))
        # a tentative track ends as soon as it is missed
        self.tracks = [tr for a, tr in enumerate(self.tracks) if a in matched or tr.hits >= self.min_hits]
        for b in np.flatnonzero(ids < 0):
            track = Track(id=self._next_id, xy=xy[b].copy(), score=score[b].copy(), t=t,
                          velocity=np.zeros_like(xy[b]), size=pose_size(xy[b]), first_t=t)
            self._next_id += 1
            self.tracks.append(track)
            ids[b] = track.id
            log.debug("person %d appears at %.3f s", track.id, t)
        return ids

    def _advance(self, tr: Track, xy: np.ndarray, score: np.ndarray, t: float) -> None:
        dt = t - tr.t
        if dt > 0:
            measured = (xy - tr.xy) / dt
            a = self.smoothing if tr.hits > 1 else 1.0
            tr.velocity = np.where(np.isfinite(measured), a * measured + (1 - a) * np.nan_to_num(tr.velocity), 0.0)
        tr.xy = xy.copy()
        tr.score = score.copy()
        tr.t = t
        tr.size = pose_size(xy) or tr.size
        tr.hits += 1
