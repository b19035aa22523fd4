"""The pose-backend interface: protocols, frame result types, a plain registry.

A backend is made once per video stream (models such as MediaPipe track persons from
frame to frame), fed upright RGB frames with increasing times, and closed at the end.
Single-person backends implement ``process`` (one :class:`PoseFrame`); multi-person
backends implement ``process_all`` (a :class:`PersonsFrame`, persons untracked, in model
order). :func:`detect_persons` gives every backend's result as a PersonsFrame, so callers
need not know which kind they hold. Adding another pose model means adding one factory
to :data:`BACKENDS`; callers do not change.

Names: ``mediapipe-multi`` (default, MediaPipe Tasks PoseLandmarker, several persons with
masks), ``mediapipe-legacy`` (``mediapipe.solutions.pose``, one person) and ``mediapipe``,
kept as an alias of ``mediapipe-legacy`` so existing scripts measure what they measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from anonymotion.errors import ConfigError


@dataclass(frozen=True)
class PoseFrame:
    """Pose of one person in one frame.

    xy: (K, 2) float32 pixels in the frame given to the backend, NaN when no person.
    score: (K,) float32 visibility in [0, 1], 0 when no person.
    world: (K, 3) float32 metres, hip-centred (MediaPipe world landmarks), NaN when no person.
    """

    xy: np.ndarray
    score: np.ndarray
    world: np.ndarray

    @staticmethod
    def empty(k: int) -> "PoseFrame":
        """The result for a frame without a person: K NaN keypoints with score 0."""
        return PoseFrame(
            xy=np.full((k, 2), np.nan, np.float32),
            score=np.zeros((k,), np.float32),
            world=np.full((k, 3), np.nan, np.float32),
        )

    @property
    def found(self) -> bool:
        """True when a person was found (any finite keypoint)."""
        return bool(np.isfinite(self.xy).any())


@dataclass(frozen=True)
class PersonsFrame:
    """Every person a model found in one frame (no identities: model order).

    xy: (N, K, 2) float32 pixels of the frame given to the backend. score: (N, K) float32
    visibility in [0, 1]. world: (N, K, 3) float32 metres, hip-centred, per person.
    masks: (N, H, W) float32 person probability in [0, 1], or None when not asked for.
    """

    xy: np.ndarray
    score: np.ndarray
    world: np.ndarray
    masks: np.ndarray | None = None

    @staticmethod
    def empty(k: int) -> "PersonsFrame":
        return PersonsFrame(xy=np.zeros((0, k, 2), np.float32), score=np.zeros((0, k), np.float32),
                            world=np.zeros((0, k, 3), np.float32))

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    @staticmethod
    def of(pf: PoseFrame) -> "PersonsFrame":
        """A single-person result as a PersonsFrame (0 or 1 person)."""
        if not pf.found:
            return PersonsFrame.empty(pf.xy.shape[0])
        return PersonsFrame(xy=pf.xy[None], score=pf.score[None], world=pf.world[None])


class PoseBackend(Protocol):
    """A pose model that follows one person through a video stream."""

    names: tuple[str, ...]

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        """Pose in an (H, W, 3) uint8 upright RGB frame at ``t`` seconds (increasing)."""
        ...

    def close(self) -> None:
        """Release the model."""
        ...


class MultiPoseBackend(Protocol):
    """A pose model that finds several persons per frame (without identities)."""

    names: tuple[str, ...]

    def process_all(self, rgb: np.ndarray, t: float) -> PersonsFrame:
        """All persons in an (H, W, 3) uint8 upright RGB frame at ``t`` seconds (strictly increasing)."""
        ...

    def close(self) -> None:
        ...


def detect_persons(backend: PoseBackend | MultiPoseBackend, rgb: np.ndarray, t: float) -> PersonsFrame:
    """Persons in one frame from any backend: ``process_all`` if it has one, else its one person."""
    process_all = getattr(backend, "process_all", None)
    if callable(process_all):
        return process_all(rgb, t)
    return PersonsFrame.of(backend.process(rgb, t))  # type: ignore[union-attr]


def _legacy(**options) -> PoseBackend:
    from anonymotion.pose.mediapipe import MediaPipePose

    return MediaPipePose(**options)


def _multi(**options) -> MultiPoseBackend:
    from anonymotion.pose.multi import MediaPipeMultiPose

    return MediaPipeMultiPose(**options)


DEFAULT_BACKEND = "mediapipe-multi"
#: Backend name -> factory(**options). Factories import their heavy libraries lazily.
BACKENDS: dict[str, Callable[..., PoseBackend | MultiPoseBackend]] = {
    "mediapipe-multi": _multi,
    "mediapipe-legacy": _legacy,
    "mediapipe": _legacy,  # alias of mediapipe-legacy
}


def is_multi_person(name: str) -> bool:
    """True when backend ``name`` finds several persons per frame."""
    check_backend(name)
    return name == "mediapipe-multi"


def check_backend(name: str) -> str:
    """Return ``name`` if it is a known backend, ConfigError naming the known ones otherwise."""
    if name not in BACKENDS:
        raise ConfigError(None, f"unknown pose backend {name!r} (known: {', '.join(sorted(BACKENDS))})")
    return name


def make_pose_backend(name: str = "mediapipe", **options) -> PoseBackend | MultiPoseBackend:
    """A new backend instance (one per video stream). Raises ConfigError for an unknown name."""
    return BACKENDS[check_backend(name)](**options)
