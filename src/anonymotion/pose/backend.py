"""The pose-backend interface: one protocol, one frame result type, a plain registry.

A backend is made once per video stream (models such as MediaPipe track the person from
frame to frame), fed upright RGB frames with increasing times, and closed at the end.
Adding another pose model means adding one factory to :data:`BACKENDS`; callers do not
change.
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


class PoseBackend(Protocol):
    """A pose model that follows one person through a video stream."""

    names: tuple[str, ...]

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        """Pose in an (H, W, 3) uint8 upright RGB frame at ``t`` seconds (increasing)."""
        ...

    def close(self) -> None:
        """Release the model."""
        ...


def _mediapipe(**options) -> PoseBackend:
    from anonymotion.pose.mediapipe import MediaPipePose

    return MediaPipePose(**options)


#: Backend name -> factory(**options). Factories import their heavy libraries lazily.
BACKENDS: dict[str, Callable[..., PoseBackend]] = {"mediapipe": _mediapipe}


def make_pose_backend(name: str = "mediapipe", **options) -> PoseBackend:
    """A new backend instance (one per video stream). Raises ConfigError for an unknown name."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ConfigError(None, f"unknown pose backend {name!r} (known: {', '.join(sorted(BACKENDS))})") from None
    return factory(**options)
