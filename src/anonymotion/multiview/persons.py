"""2D persons per view and frame from a pose backend: the input of the multi-view engine.

A person source is made once per view (models track from frame to frame) and returns, for
each upright RGB frame, a list of :class:`~anonymotion.multiview.association.Person2D`
(MediaPipe BlazePose's 33 keypoints in pixels, scores in [0, 1]). Backends that follow one
person (the legacy MediaPipe Pose) give lists of at most one; multi-person backends give
every person with its per-view track id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from anonymotion.multiview.association import Person2D


class PersonSource(Protocol):
    """Persons in the frames of one view."""

    names: tuple[str, ...]

    def persons(self, rgb: np.ndarray, t: float) -> list[Person2D]:
        """Every person found in an (H, W, 3) uint8 upright RGB frame at ``t`` seconds."""
        ...

    def close(self) -> None:
        ...


class SinglePersonSource:
    """A one-person pose backend (``anonymotion.pose.backend``) as a person source."""

    def __init__(self, backend: str = "mediapipe", **options) -> None:
        from anonymotion.pose.backend import make_pose_backend

        self._backend = make_pose_backend(backend, **options)
        self.names = tuple(self._backend.names)

    def persons(self, rgb: np.ndarray, t: float) -> list[Person2D]:
        pf = self._backend.process(rgb, t)
        if not pf.found:
            return []
        return [Person2D(xy=np.asarray(pf.xy, np.float64), score=np.asarray(pf.score, np.float64), track_id=0)]

    def close(self) -> None:
        self._backend.close()


def _single(**options) -> PersonSource:
    return SinglePersonSource("mediapipe", **options)


#: Name -> factory(**options) of person sources (one instance per view).
PERSON_SOURCES: dict[str, Callable[..., PersonSource]] = {"mediapipe": _single}


def make_person_source(name: str = "mediapipe", **options) -> PersonSource:
    """A new person source for one view; ConfigError for an unknown name."""
    from anonymotion.errors import ConfigError

    try:
        factory = PERSON_SOURCES[name]
    except KeyError:
        raise ConfigError(None, f"unknown pose backend {name!r} (known: {', '.join(sorted(PERSON_SOURCES))})") from None
    return factory(**options)
