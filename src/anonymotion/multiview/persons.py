"""2D persons per view and frame from a pose backend: the input of the multi-view engine.

A person source is made once per view (models track from frame to frame) and returns, for
each upright RGB frame, a list of :class:`~anonymotion.multiview.association.Person2D`
(MediaPipe BlazePose's 33 keypoints in pixels, scores in [0, 1]). Any backend of
:mod:`anonymotion.pose.backend` works: multi-person backends (``process_all``) give every
person, single-person ones (``process``) at most one.
"""

from __future__ import annotations

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


def default_backend() -> str:
    """The pose backend a multi-view run uses unless told otherwise (multi-person when available)."""
    from anonymotion.pose import backend

    return getattr(backend, "DEFAULT_BACKEND", "mediapipe")


class BackendPersonSource:
    """A pose backend (``anonymotion.pose.backend``, by name) as a person source for one view."""

    def __init__(self, backend: str | None = None, **options) -> None:
        from anonymotion.pose.backend import make_pose_backend

        self.backend_name = backend or default_backend()
        self._backend = make_pose_backend(self.backend_name, **options)
        self.names = tuple(self._backend.names)

    def persons(self, rgb: np.ndarray, t: float) -> list[Person2D]:
        process_all = getattr(self._backend, "process_all", None)
        if callable(process_all):
            found = process_all(rgb, t)
            return [Person2D(xy=np.asarray(found.xy[i], np.float64), score=np.asarray(found.score[i], np.float64))
                    for i in range(len(found))]
        pf = self._backend.process(rgb, t)
        if not pf.found:
            return []
        return [Person2D(xy=np.asarray(pf.xy, np.float64), score=np.asarray(pf.score, np.float64))]

    def close(self) -> None:
        self._backend.close()


def make_person_source(backend: str | None = None, **options) -> PersonSource:
    """A new person source for one view (ConfigError for an unknown backend name)."""
    return BackendPersonSource(backend, **options)
