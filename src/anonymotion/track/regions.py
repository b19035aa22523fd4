"""Temporal hold / interpolation of face regions, so a face missed for a few frames stays covered.

Detections are linked into tracks by Hungarian matching on IoU, or on centre distance
(which small faces need), against each track's predicted box: its last box moved by its own
velocity, or by the scene's common motion (camera pan) while it has no velocity yet, plus
the frame's residual common shift. Then:

- a face detected at frames k and k+n with the frames between missed, and a dropout
  (time between the two detections minus one frame interval) of at most ``hold`` seconds,
  is covered in between by linear interpolation of the two boxes;
- a track that ends is held forward for ``hold`` seconds (its last box, moved on with its
  velocity);
- a new track is dilated backward by ``hold`` seconds (its first box, moved back with the
  scene's common motion), since faces appear before a detector fires.

Face landmarks travel with their box, smoothed, interpolated and held as described in
:mod:`anonymotion.track.landmarks` (detected regions carry the track's smoothed landmarks).

Regions added by the tracker have source ``"held"``; their boxes are grown by 25 % about
the centre (a held box is a guess: shaky or non-linear motion between detections must stay
inside), and a held box that duplicates a kept box (IoU > 0.5) is dropped. Output is
delayed by ``hold`` plus two frame intervals, so the caller keeps only that many decoded
frames in memory.

``push(index, t, None)`` means "frame not examined" (the detector was skipped on it, e.g.
when detecting on every n-th frame only): the frame is filled from the tracks around it
but does not count as a miss. Keep the detection interval below ``hold``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from anonymotion.track.landmarks import from_box_shares, known, smooth_shares, to_box_shares
from anonymotion.track.linking import centres, common_shift, iou_matrix, match
from anonymotion.types import Regions

log = logging.getLogger(__name__)

HELD = "held"
_EPS = 1e-6
HELD_SCALE = 1.25  # a held box is a guess: grown about its centre so a face that moved stays inside
DUPLICATE_IOU = 0.5  # a held box overlapping a kept box this much covers the same face: dropped
DETECT_INTERVAL = 0.065  # seconds between face-detector runs by default (3 frames at 50 fps)


def detect_every(fps: float, hold: float = 0.2, interval: float = DETECT_INTERVAL) -> int:
    """Run the face detector on every n-th frame: n for a video at ``fps`` frames/s.

    About ``interval`` seconds apart (2 frames at 24-30 fps, 3 at 50, 4 at 60), never more
    than half of ``hold`` so one missed detection is still interpolated; 1 when fps is
    unknown or hold is 0. Frames in between are pushed to the tracker as ``None``.
    """
    if fps <= 0 or hold <= 0:
        return 1
    n = min(round(interval * fps), int(hold / 2 * fps + 1e-9))
    return max(1, n)


VELOCITY_WINDOW = 0.25  # seconds of detections a track's velocity is measured over
MIN_VELOCITY_SPAN = 0.05  # shorter baselines turn box jitter into speed: use the common motion


@dataclass
class _Track:
    id: int
    first_index: int
    first_t: float
    last_index: int
    last_t: float
    box: np.ndarray  # (4,) last detected box
    score: float
    person: int = -1  # person id of a pose-based region (-1: unknown)
    history: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (t, centre) recent
    shares: np.ndarray | None = None  # (5, 2) smoothed landmarks as shares of the box; None = unknown

    def marks(self, box: np.ndarray) -> np.ndarray | None:
        """The track's landmarks (5, 2) px placed on ``box``; None when unknown."""
        return None if self.shares is None else from_box_shares(self.shares, box)

    def velocity(self) -> np.ndarray | None:
        """Centre velocity (2,) px/s over the last ~0.25 s of detections; None if unknown.

        Unknown until the detections span at least 0.05 s (jitter over one frame is no speed).
        """
        if len(self.history) < 2:
            return None
        t0, c0 = self.history[0]
        t1, c1 = self.history[-1]
        return (c1 - c0) / (t1 - t0) if t1 - t0 >= MIN_VELOCITY_SPAN else None

    def remember(self, t: float, box: np.ndarray) -> None:
        self.history.append((t, centres(box[None])[0]))
        while len(self.history) > 2 and t - self.history[1][0] >= VELOCITY_WINDOW:
            self.history.pop(0)


def _moved(box: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return box + np.array([shift[0], shift[1], shift[0], shift[1]])


@dataclass
class _Pending:
    t: float
    examined: bool
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    persons: list[int] = field(default_factory=list)
    marks: list[np.ndarray] = field(default_factory=list)
    track_set: set[int] = field(default_factory=set)

    def add(self, box: np.ndarray, score: float, tid: int, source: str, person: int = -1,
            marks: np.ndarray | None = None) -> None:
        """Record one region; ``marks``: its (5, 2) landmarks in px (None = unknown)."""
        if tid in self.track_set:
            return
        if source == HELD:
            box = _grown(np.asarray(box, np.float64), HELD_SCALE)
        self.track_set.add(tid)
        self.boxes.append(np.asarray(box, np.float32))
        self.scores.append(float(score))
        self.ids.append(tid)
        self.sources.append(source)
        self.persons.append(int(person))
        self.marks.append(np.full((5, 2), np.nan, np.float32) if marks is None else np.asarray(marks, np.float32))

    def regions(self) -> Regions:
        """Final regions: every detection, plus held boxes not duplicating a kept box."""
        if not self.boxes:
            return Regions.empty()
        boxes = np.stack(self.boxes).astype(np.float32)
        held = np.array([s == HELD for s in self.sources])
        order = list(np.flatnonzero(~held)) + sorted(np.flatnonzero(held), key=lambda i: -self.scores[i])
        keep: list[int] = []
        for i in order:
            if held[i] and keep and iou_matrix(boxes[i:i + 1], boxes[keep]).max() > DUPLICATE_IOU:
                continue
            keep.append(i)
        keep.sort()
        persons = np.asarray(self.persons, np.int64)[keep]
        return Regions(boxes=boxes[keep], scores=np.asarray(self.scores, np.float32)[keep],
                       track_ids=np.asarray(self.ids, np.int64)[keep],
                       sources=tuple(self.sources[i] for i in keep),
                       persons=persons if (persons >= 0).any() else None,
                       landmarks=np.stack(self.marks).astype(np.float32)[keep])


def _grown(box: np.ndarray, scale: float) -> np.ndarray:
    c = centres(box[None])[0]
    half = (box[2:] - box[:2]) * scale / 2
    return np.concatenate([c - half, c + half])


class RegionTracker:
    """Temporal hold / interpolation so a face missed for a few frames stays covered.

    hold: seconds a face stays covered across a detector dropout (also the forward hold of an
    ended track and the backward dilation of a new one). iou: minimum IoU to link a detection
    to a track's predicted box (or its centre within 0.75 x the box size, as small faces need).

    ``gaps`` lists every stretch of frames the tracker filled for one track: dicts with
    track_id, from_index, to_index, from_t, to_t (first and last filled frame), frames (how
    many) and kind: "interpolated" (a detector dropout between two detections), "hold" (after
    a track's last detection) or "dilate" (before its first). A few per second of busy video:
    long runs may drain it (``tracker.gaps.clear()`` after reading) to keep memory flat.
    """

    def __init__(self, hold: float = 0.2, iou: float = 0.2) -> None:
        if hold < 0:
            raise ValueError(f"hold must be >= 0 seconds, got {hold}")
        if not 0 < iou <= 1:
            raise ValueError(f"iou must be in (0, 1], got {iou}")
        self.hold = float(hold)
        self.iou = float(iou)
        self.gaps: list[dict] = []
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._last_t: float | None = None
        self._last_index: int | None = None
        self._dt = 0.0  # largest recent frame interval, seconds
        self._flow = np.zeros(2)  # common (camera) motion of the faces, px/s

    # ------------------------------------------------------------------ public API

    def push(self, index: int, t: float, detections: Regions | None,
             weak: Regions | None = None) -> list[tuple[int, Regions]]:
        """Feed frame ``index`` (at ``t`` seconds) and its raw detections (None = not examined).

        weak: candidates that scored below the detector's threshold. They never start a track;
        one that matches a live track no detection matched continues it (as ByteTrack does:
        a face already tracked stays tracked while motion blur lowers its score). Returns the frames whose final regions are now known, in index order, each with
        Regions carrying track ids >= 0 (tracker-added regions have source "held").
        Frames must come in increasing index order.
        """
        if self._last_index is not None and index <= self._last_index:
            raise ValueError(f"frames must be pushed in increasing order: {index} after {self._last_index}")
        t = float(t)
        if self._last_t is not None and t > self._last_t:
            step = t - self._last_t
            self._dt = step if self._dt == 0 else max(step, 0.5 * self._dt + 0.5 * step)
        self._last_t, self._last_index = t, index
        self._pending[index] = _Pending(t=t, examined=detections is not None)
        self._end_stale_tracks(t)
        if detections is not None and (len(detections) or (weak is not None and len(weak))):
            self._assign(index, t, detections, weak)
        return self._emit_ready(t)

    def flush(self) -> list[tuple[int, Regions]]:
        """At the end of the video: end every track and return all frames still pending."""
        for track in self._tracks:
            self._hold_forward(track)
        self._tracks = []
        out = [(i, p.regions()) for i, p in self._pending.items()]
        self._pending.clear()
        return out

    # ------------------------------------------------------------------ internals

    def _alive(self, track: _Track, t: float) -> bool:
        """A track can still be continued at time t (its dropout would be <= hold)."""
        return t - track.last_t - self._dt <= self.hold + _EPS

    def _end_stale_tracks(self, t: float) -> None:
        alive = []
        for track in self._tracks:
            if self._alive(track, t):
                alive.append(track)
            else:
                self._hold_forward(track)
        self._tracks = alive

    def _velocity(self, track: _Track) -> np.ndarray:
        v = track.velocity()
        return self._flow if v is None else v

    def _predict(self, track: _Track, t: float) -> np.ndarray:
        return _moved(track.box, self._velocity(track) * (t - track.last_t))

    def _assign(self, index: int, t: float, dets: Regions, weak: Regions | None = None) -> None:
        boxes = np.asarray(dets.boxes, np.float64).reshape(-1, 4)
        det_marks = dets.landmarks_or_nan().astype(np.float64)
        preds = np.stack([self._predict(tr, t) for tr in self._tracks]) if self._tracks else np.zeros((0, 4))
        if len(preds) and len(boxes):
            shift = common_shift(preds, boxes)
            preds = preds + np.array([shift[0], shift[1], shift[0], shift[1]])
        pairs = match(preds, boxes, self.iou)
        matched = {d for _, d in pairs}
        frame = self._pending[index]
        flows = []
        persons = dets.persons if dets.persons is not None else np.full(len(boxes), -1, np.int64)
        if weak is not None and len(weak):
            self._continue_weak(index, t, preds, {r for r, _ in pairs}, weak)
        for r, d in pairs:
            track = self._tracks[r]
            if t > track.last_t:
                flows.append((centres(boxes[d:d + 1])[0] - centres(track.box[None])[0]) / (t - track.last_t))
            self._interpolate(track, index, t, boxes[d], float(dets.scores[d]), known(det_marks[d]))
            if persons[d] >= 0:
                track.person = int(persons[d])
            frame.add(boxes[d], float(dets.scores[d]), track.id, dets.sources[d], track.person, track.marks(boxes[d]))
        if len(flows) >= 2:
            self._flow = 0.5 * self._flow + 0.5 * np.median(np.asarray(flows), axis=0)
        elif not pairs:
            self._flow = 0.5 * self._flow
        for d in range(len(boxes)):
            if d in matched:
                continue
            marks = known(det_marks[d])
            track = _Track(id=self._next_id, first_index=index, first_t=t, last_index=index,
                           last_t=t, box=boxes[d].copy(), score=float(dets.scores[d]), person=int(persons[d]),
                           shares=None if marks is None else to_box_shares(marks, boxes[d]))
            track.remember(t, track.box)
            self._next_id += 1
            self._tracks.append(track)
            frame.add(boxes[d], track.score, track.id, dets.sources[d], track.person, track.marks(boxes[d]))
            self._dilate_backward(track)

    def _continue_weak(self, index: int, t: float, preds: np.ndarray, taken: set[int], weak: Regions) -> None:
        """Continue the tracks no detection matched (``taken`` holds those that were) with the
        weak candidates that match their predicted boxes ``preds``; the rest are dropped."""
        free = [r for r in range(len(self._tracks)) if r not in taken]
        if not free:
            return
        boxes = np.asarray(weak.boxes, np.float64).reshape(-1, 4)
        marks = weak.landmarks_or_nan().astype(np.float64)
        frame = self._pending[index]
        for k, d in match(preds[free], boxes, self.iou):
            track = self._tracks[free[k]]
            self._interpolate(track, index, t, boxes[d], float(weak.scores[d]), known(marks[d]))
            frame.add(boxes[d], float(weak.scores[d]), track.id, weak.sources[d], track.person, track.marks(boxes[d]))

    def _interpolate(self, track: _Track, index: int, t: float, box: np.ndarray, score: float,
                     marks: np.ndarray | None = None) -> None:
        """Fill the frames between the track's last detection and this one; update the track.

        marks: the new detection's (5, 2) landmarks in px (None = unknown); the track's
        smoothed landmark shares are interpolated towards them in between.
        """
        between = [(i, p) for i, p in self._pending.items() if track.last_index < i < index]
        span = t - track.last_t
        missed = any(p.examined for _, p in between)
        new = smooth_shares(track.shares, None if marks is None else to_box_shares(marks, box), span)
        for i, p in between:
            a = (p.t - track.last_t) / span if span > 0 else 0.0
            b = track.box + a * (box - track.box)
            shares = None if track.shares is None or new is None else track.shares + a * (new - track.shares)
            p.add(b, min(track.score, score), track.id, HELD, track.person,
                  None if shares is None else from_box_shares(shares, b))
        if missed and between:
            self._record(track.id, between, "interpolated")
        track.shares = new
        track.box, track.score = box.copy(), score
        track.last_index, track.last_t = index, t
        track.remember(t, track.box)

    def _hold_forward(self, track: _Track) -> None:
        """Cover the frames up to ``hold`` seconds after an ended track's last detection."""
        frames = [(i, p) for i, p in self._pending.items()
                  if i > track.last_index and p.t - track.last_t <= self.hold + _EPS]
        v = self._velocity(track)
        for _, p in frames:
            b = _moved(track.box, v * (p.t - track.last_t))
            p.add(b, track.score, track.id, HELD, track.person, track.marks(b))
        if frames:
            self._record(track.id, frames, "hold")

    def _dilate_backward(self, track: _Track) -> None:
        """Cover the frames up to ``hold`` seconds before a new track's first detection."""
        frames = [(i, p) for i, p in self._pending.items()
                  if i < track.first_index and track.first_t - p.t <= self.hold + _EPS]
        for _, p in frames:
            b = _moved(track.box, self._flow * (p.t - track.first_t))
            p.add(b, track.score, track.id, HELD, track.person, track.marks(b))
        if frames:
            self._record(track.id, frames, "dilate")

    def _record(self, track_id: int, frames: list[tuple[int, _Pending]], kind: str) -> None:
        self.gaps.append({
            "track_id": int(track_id), "from_index": int(frames[0][0]), "to_index": int(frames[-1][0]),
            "from_t": round(frames[0][1].t, 6), "to_t": round(frames[-1][1].t, 6),
            "frames": len(frames), "kind": kind,
        })

    def _emit_ready(self, t: float) -> list[tuple[int, Regions]]:
        """Frames no future push can change: older than hold plus two frame intervals."""
        horizon = self.hold + 2 * self._dt + _EPS
        out = []
        while self._pending:
            index, p = next(iter(self._pending.items()))
            if t - p.t <= horizon:
                break
            self._pending.popitem(last=False)
            out.append((index, p.regions()))
        return out
