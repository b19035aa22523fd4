"""Pose over a stream of frames, collected into arrays (small: T × K floats, never frames).

:class:`PoseCollector` owns one backend (or a :class:`SubjectFollower` around one) for one
video stream; feed it frames in time order with :meth:`add`, then :meth:`finish` returns
a :class:`VideoPoses`. It is used both for decoded files and for frames handed over by
the anonymization pipeline before encoding (``--lossless``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anonymotion.pose.backend import PoseBackend, PoseFrame, make_pose_backend
from anonymotion.pose.subject import ReplayFollower, ReplaySpec, SubjectFollower, SubjectSpec, parse_subject
from anonymotion.types import Poses

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoPoses(Poses):
    """Poses of one video plus how they were made.

    path: the video (None for in-memory streams). lost: (T,) bool, True where a followed
    subject was lost (all False without subject following). subject: the subject spec
    used ("auto", "point X,Y", "box ...") or None. filter_hz: low-pass cut-off applied, or None.
    """

    path: Path | None = None
    lost: np.ndarray | None = None
    subject: str | None = None
    filter_hz: float | None = None
    crops: np.ndarray | None = None  # (T, 4) int crop per frame with subject following, else None

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: frames where a person was found."""
        return np.isfinite(self.xy).all(-1).any(-1)

    def replay(self) -> ReplaySpec | None:
        """A spec that makes another video's pose follow this run's subject crop for crop."""
        if self.crops is None:
            return None
        names = self.names
        hip = self.xy[:, [names.index("left_hip"), names.index("right_hip")]].mean(axis=1)
        sho = self.xy[:, [names.index("left_shoulder"), names.index("right_shoulder")]].mean(axis=1)
        return ReplaySpec(crops=self.crops, hips=hip, torso=np.linalg.norm(sho - hip, axis=1))


def make_tracker(backend: str = "mediapipe", subject: str | SubjectSpec | ReplaySpec | None = None,
                 **options) -> PoseBackend:
    """A backend for one stream, wrapped in a SubjectFollower (or ReplayFollower) when ``subject`` is given."""
    if isinstance(subject, ReplaySpec):
        return ReplayFollower(lambda: make_pose_backend(backend, **options), subject)
    spec = parse_subject(subject)
    if spec is None:
        return make_pose_backend(backend, **options)
    if spec.mode == "id":
        from anonymotion.errors import ConfigError

        raise ConfigError(None, f"--subject {spec.person}: person ids come from the multi-person backend "
                                f"(mediapipe-multi), not from {backend}")
    return SubjectFollower(lambda: make_pose_backend(backend, **options), spec)


class PoseCollector:
    """Run pose frame by frame and keep only the keypoint arrays."""

    def __init__(self, backend: str = "mediapipe", subject: str | SubjectSpec | ReplaySpec | None = None,
                 **options) -> None:
        self.spec = subject if isinstance(subject, ReplaySpec) else parse_subject(subject)
        self.tracker = make_tracker(backend, self.spec, **options)
        self.names = self.tracker.names
        self._t: list[float] = []
        self._xy: list[np.ndarray] = []
        self._score: list[np.ndarray] = []
        self._world: list[np.ndarray] = []
        self._size: tuple[int, int] = (0, 0)
        self._closed = False

    def add(self, rgb: np.ndarray, t: float) -> PoseFrame:
        """Pose of one (H, W, 3) uint8 frame at ``t`` seconds; returns it as well as keeping it."""
        pf = self.tracker.process(rgb, t)
        self._size = (int(rgb.shape[1]), int(rgb.shape[0]))
        self._t.append(float(t))
        self._xy.append(pf.xy)
        self._score.append(pf.score)
        self._world.append(pf.world)
        return pf

    def __len__(self) -> int:
        return len(self._t)

    def close(self) -> None:
        if not self._closed:
            self.tracker.close()
            self._closed = True

    def finish(self, path: Path | None = None, filter_hz: float | None = None) -> VideoPoses:
        """Close the backend and return the collected poses (optionally low-pass filtered)."""
        self.close()
        k = len(self.names)
        n = len(self._t)
        lost = np.zeros(n, bool)
        crops = None
        if isinstance(self.tracker, (SubjectFollower, ReplayFollower)):
            idx = [i for i in self.tracker.lost if i < n]
            lost[idx] = True
        if isinstance(self.tracker, SubjectFollower):
            crops = np.array(self.tracker.crops[:n], np.int64).reshape(-1, 4)
        poses = VideoPoses(
            t=np.asarray(self._t, np.float64),
            xy=np.stack(self._xy).astype(np.float32) if n else np.zeros((0, k, 2), np.float32),
            score=np.stack(self._score).astype(np.float32) if n else np.zeros((0, k), np.float32),
            names=tuple(self.names),
            size=self._size,
            world=np.stack(self._world).astype(np.float32) if n else np.zeros((0, k, 3), np.float32),
            path=Path(path) if path is not None else None,
            lost=lost,
            subject=self.spec.describe() if self.spec else None,
            filter_hz=filter_hz,
            crops=crops,
        )
        if filter_hz:
            from anonymotion.pose.filtering import filter_poses

            poses = filter_poses(poses, cutoff_hz=filter_hz)  # type: ignore[assignment]
        return poses

    def __enter__(self) -> "PoseCollector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
