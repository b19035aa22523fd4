"""Every person over a video: poses with stable ids, and which one is the subject.

:class:`PersonsCollector` runs a pose backend (any: a single-person one gives at most one
person per frame) and the :class:`~anonymotion.track.persons.PersonTracker` frame by
frame, keeping only keypoint arrays; :meth:`PersonsCollector.finish` returns a
:class:`PersonsPoses`: per person id the keypoints over the whole clip, NaN (score 0)
where that person is absent. :meth:`PersonsPoses.subject_id` picks the subject: ``auto``
= the person most visible over the whole clip; a point / box; or an id.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from anonymotion.errors import ConfigError
from anonymotion.pose.backend import PersonsFrame, detect_persons, make_pose_backend
from anonymotion.pose.run import VideoPoses
from anonymotion.pose.subject import SubjectSpec, parse_subject
from anonymotion.track.persons import PersonTracker, mirror_permutation

log = logging.getLogger(__name__)


def visibility_height(xy: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Mean visibility x keypoint-box height (px) per pose, 0 where absent.

    xy: (..., K, 2) px with NaN where absent; score: (..., K). Returns (...) float64.
    """
    ok = np.isfinite(xy).all(-1)
    y = np.where(ok, xy[..., 1], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # absent persons: all-NaN rows
        height = np.nanmax(y, axis=-1) - np.nanmin(y, axis=-1)
    return np.nan_to_num(np.asarray(score, np.float64).mean(-1) * height)


@dataclass(frozen=True)
class PersonsPoses:
    """Poses of every tracked person over one video.

    t: (T,) seconds. ids: (P,) int64 person ids (increasing). xy: (P, T, K, 2) float32 px
    of the upright frame, NaN where the person is absent; score: (P, T, K) visibility
    (0 where absent); world: (P, T, K, 3) float32 metres or None. names: K keypoint names;
    size: (width, height) px. path: the video; backend: the pose backend's name;
    filter_hz: low-pass cut-off applied, or None.
    """

    t: np.ndarray
    ids: np.ndarray
    xy: np.ndarray
    score: np.ndarray
    names: tuple[str, ...]
    size: tuple[int, int]
    world: np.ndarray | None = None
    path: Path | None = None
    backend: str = ""
    filter_hz: float | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def present(self) -> np.ndarray:
        """(P, T) bool: frames where each person was found."""
        return np.isfinite(self.xy).all(-1).any(-1)

    def index(self, person: int) -> int:
        """Row of person id ``person``; ConfigError naming the ids when it does not exist."""
        hits = np.flatnonzero(self.ids == person)
        if not hits.size:
            known = ", ".join(str(int(i)) for i in self.ids) or "none"
            raise ConfigError(self.path, f"no person with id {person} (persons found: {known})")
        return int(hits[0])

    def frames(self, person: int) -> np.ndarray:
        """(T,) bool: frames where person ``person`` is present."""
        return self.present[self.index(person)]

    def person(self, person: int, subject: str | None = None) -> VideoPoses:
        """One person's track as :class:`VideoPoses` (lost = absent after first seen)."""
        i = self.index(person)
        present = self.present[i]
        first = int(np.argmax(present)) if present.any() else len(present)
        lost = ~present & (np.arange(len(present)) >= first)
        return VideoPoses(t=self.t, xy=self.xy[i], score=self.score[i], names=self.names, size=self.size,
                          world=None if self.world is None else self.world[i], path=self.path, lost=lost,
                          subject=subject or f"id {person}", filter_hz=self.filter_hz)

    def visibility(self) -> np.ndarray:
        """(P,) float: Σ over frames of mean visibility x keypoint-box height (px): how much of
        each person the clip shows (the ``auto`` subject is the largest)."""
        return visibility_height(self.xy, self.score).sum(axis=1)

    def subject_id(self, spec: str | SubjectSpec | None = "auto") -> int | None:
        """The subject's person id, or None when no person matches.

        auto (or None): most visible over the whole clip (:meth:`visibility`). point: the
        person whose keypoint box (grown 10 %) holds the point in the most frames. box: the
        person whose hip centre lies in the box in the most frames. id: that person
        (ConfigError when it does not exist).
        """
        spec = parse_subject(spec) or SubjectSpec("auto")
        if len(self) == 0:
            return None
        if spec.mode == "id":
            return int(self.ids[self.index(int(spec.person))])  # type: ignore[arg-type]
        if spec.mode == "auto":
            return int(self.ids[int(np.argmax(self.visibility()))])
        counts = self._spec_hits(spec)
        best = int(np.argmax(counts))
        return int(self.ids[best]) if counts[best] > 0 else None

    def _spec_hits(self, spec: SubjectSpec) -> np.ndarray:
        """(P,) frames in which each person matches a point or box spec."""
        ok = np.isfinite(self.xy).all(-1)
        x = np.where(ok, self.xy[..., 0], np.nan)
        y = np.where(ok, self.xy[..., 1], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            x1, x2 = np.nanmin(x, -1), np.nanmax(x, -1)
            y1, y2 = np.nanmin(y, -1), np.nanmax(y, -1)
        if spec.mode == "point":
            px, py = spec.point  # type: ignore[misc]
            gx, gy = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
            hit = (x1 - gx <= px) & (px <= x2 + gx) & (y1 - gy <= py) & (py <= y2 + gy)
        else:
            names = self.names
            hip = self.xy[:, :, [names.index("left_hip"), names.index("right_hip")]].mean(axis=2)
            bx1, by1, bx2, by2 = spec.box  # type: ignore[misc]
            hit = (bx1 <= hip[..., 0]) & (hip[..., 0] <= bx2) & (by1 <= hip[..., 1]) & (hip[..., 1] <= by2)
        return np.nan_to_num(hit, nan=0).astype(bool).sum(axis=1)

    def subject(self, spec: str | SubjectSpec | None = "auto") -> VideoPoses | None:
        """The subject's track (see :meth:`subject_id`), or None when no person matches."""
        spec = parse_subject(spec) or SubjectSpec("auto")
        pid = self.subject_id(spec)
        return None if pid is None else self.person(pid, subject=f"{spec.describe()} (person {pid})")

    def only(self, persons: list[int]) -> "PersonsPoses":
        """The same poses restricted to the given person ids (in id order)."""
        rows = [self.index(p) for p in sorted(set(persons))]
        return replace(self, ids=self.ids[rows], xy=self.xy[rows], score=self.score[rows],
                       world=None if self.world is None else self.world[rows])

    def filtered(self, cutoff_hz: float) -> "PersonsPoses":
        """Every person's trajectories low-passed (zero-phase Butterworth; gaps never bridged)."""
        from anonymotion.pose.filtering import butterworth, sample_rate

        fs = sample_rate(self.t)
        if fs == 0 or len(self) == 0:
            return replace(self, filter_hz=cutoff_hz)
        xy = np.stack([butterworth(a, fs, cutoff_hz) for a in self.xy]).astype(np.float32)
        world = None if self.world is None else np.stack([butterworth(a, fs, cutoff_hz)
                                                          for a in self.world]).astype(np.float32)
        return replace(self, xy=xy, world=world, filter_hz=cutoff_hz)


@dataclass(frozen=True)
class TrackedPersons:
    """The persons of one frame with their ids: ``ids`` (N,) int64 and the model's PersonsFrame."""

    ids: np.ndarray
    persons: PersonsFrame

    def __len__(self) -> int:
        return int(self.ids.shape[0])


class PersonsCollector:
    """Pose of every person frame by frame, with stable ids; keeps only keypoint arrays.

    backend: a pose backend name (:data:`anonymotion.pose.backend.BACKENDS`); options go to
    it (e.g. ``num_poses``, ``masks``); tracker: a PersonTracker (default settings if None).
    """

    def __init__(self, backend: str = "mediapipe-multi", tracker: PersonTracker | None = None, **options) -> None:
        self.backend_name = backend
        self.backend = make_pose_backend(backend, **options)
        self.names = tuple(self.backend.names)
        self.tracker = tracker or PersonTracker(mirror=mirror_permutation(self.names))
        self._t: list[float] = []
        self._frames: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._size = (0, 0)
        self._closed = False

    def add(self, rgb: np.ndarray, t: float) -> TrackedPersons:
        """Persons in one (H, W, 3) uint8 upright frame at ``t`` seconds, with their ids."""
        persons = detect_persons(self.backend, rgb, t)
        ids = self.tracker.update(persons.xy, persons.score, t)
        self._size = (int(rgb.shape[1]), int(rgb.shape[0]))
        self._t.append(float(t))
        self._frames.append((ids, persons.xy, persons.score, persons.world))
        return TrackedPersons(ids=ids, persons=persons)

    def __len__(self) -> int:
        return len(self._t)

    def close(self) -> None:
        if not self._closed:
            self.backend.close()
            self._closed = True

    def finish(self, path: Path | None = None, filter_hz: float | None = None) -> PersonsPoses:
        """Close the backend and return every person's track (optionally low-pass filtered)."""
        self.close()
        k, n = len(self.names), len(self._t)
        ids = np.array(sorted({int(i) for f in self._frames for i in f[0]}), np.int64)
        row = {int(pid): r for r, pid in enumerate(ids)}
        xy = np.full((len(ids), n, k, 2), np.nan, np.float32)
        score = np.zeros((len(ids), n, k), np.float32)
        world = np.full((len(ids), n, k, 3), np.nan, np.float32)
        for f, (fids, fxy, fscore, fworld) in enumerate(self._frames):
            for j, pid in enumerate(fids):
                r = row[int(pid)]
                xy[r, f], score[r, f], world[r, f] = fxy[j], fscore[j], fworld[j]
        poses = PersonsPoses(t=np.asarray(self._t, np.float64), ids=ids, xy=xy, score=score, names=self.names,
                             size=self._size, world=world, path=Path(path) if path is not None else None,
                             backend=self.backend_name)
        log.info("%s: %d persons over %d frames", path or "stream", len(ids), n)
        return poses.filtered(filter_hz) if filter_hz else poses

    def __enter__(self) -> "PersonsCollector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
