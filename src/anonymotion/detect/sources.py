"""Region sources: what finds the pixels to anonymize in a frame, by name.

A source turns an upright RGB frame into :class:`Regions` (boxes and/or a pixel mask).
The registry is a literal dict: "faces" (the face detector(s) of ``config.detector``),
"head" (pose-guided head boxes) and "body" (person masks). Sources are built from the one
typed config of the pipeline; models load when a source is built, not at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from anonymotion.types import Regions

if TYPE_CHECKING:
    from anonymotion.config import AnonymizeConfig


class RegionSource(Protocol):
    """Finds regions to anonymize in one frame at a time, frames given in time order."""

    name: str

    def detect(self, rgb: np.ndarray, t: float) -> Regions:
        """rgb: (H, W, 3) uint8 upright frame; t: seconds. Returns that frame's regions."""
        ...

    def close(self) -> None:
        ...


class FaceSource:
    """The face detector(s) chosen by ``config.detector`` as a region source."""

    name = "faces"

    def __init__(self, config: "AnonymizeConfig") -> None:
        from anonymotion.detect.faces import make_face_detector

        self.detector = make_face_detector(config.detector, threshold=config.face_threshold,
                                           input_size=config.detect_size)
        self.weak_factor = config.weak_factor

    def detect(self, rgb: np.ndarray, t: float) -> Regions:
        return self.detector.detect(rgb)

    def detect_with_weak(self, rgb: np.ndarray, t: float) -> tuple[Regions, Regions | None]:
        """(faces, weak candidates that may only continue a tracked face; None when the detector
        gives none or ``weak_factor`` is 1)."""
        if self.weak_factor < 1 and hasattr(self.detector, "detect_split"):
            return self.detector.detect_split(rgb, self.weak_factor)
        return self.detector.detect(rgb), None

    def close(self) -> None:
        close = getattr(self.detector, "close", None)
        if callable(close):
            close()


def _head(config: "AnonymizeConfig") -> RegionSource:
    from anonymotion.detect.heads import HeadSource

    return HeadSource(config)


def _body(config: "AnonymizeConfig") -> RegionSource:
    from anonymotion.detect.bodies import BodySource

    return BodySource(config)


#: source name -> factory(config)
REGION_SOURCES: dict[str, Callable[["AnonymizeConfig"], Any]] = {"faces": FaceSource, "head": _head, "body": _body}


def make_sources(names: tuple[str, ...], config: "AnonymizeConfig") -> list[RegionSource]:
    """Build the named sources; ValueError naming the known ones for an unknown name."""
    unknown = [n for n in names if n not in REGION_SOURCES]
    if unknown:
        raise ValueError(f"unknown region source {unknown[0]!r}; choose from: {', '.join(sorted(REGION_SOURCES))}")
    return [REGION_SOURCES[n](config) for n in names]


def merge(parts: list[Regions], height: int, width: int) -> Regions:
    """Concatenate the boxes (and landmarks, NaN where a source has none) of several sources
    and OR their masks into one Regions."""
    parts = [p for p in parts if len(p) or p.mask is not None]
    if not parts:
        return Regions.empty()
    if len(parts) == 1:
        return parts[0]
    mask = None
    for p in parts:
        if p.mask is not None:
            mask = p.mask.astype(bool) if mask is None else (mask | p.mask.astype(bool))
    persons = None
    if any(p.persons is not None for p in parts):
        persons = np.concatenate([p.persons if p.persons is not None else np.full(len(p), -1, np.int64)
                                  for p in parts]).astype(np.int64)
    return Regions(
        boxes=np.concatenate([p.boxes for p in parts]).astype(np.float32).reshape(-1, 4),
        scores=np.concatenate([p.scores for p in parts]).astype(np.float32),
        track_ids=np.concatenate([p.track_ids for p in parts]).astype(np.int64),
        sources=tuple(s for p in parts for s in p.sources),
        mask=mask,
        persons=persons,
        mask_parts=tuple(m for p in parts for m in p.mask_parts),
        landmarks=(np.concatenate([p.landmarks_or_nan() for p in parts])
                   if any(p.landmarks is not None for p in parts) else None),
    )
