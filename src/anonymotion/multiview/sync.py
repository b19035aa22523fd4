"""Advance several videos together, frame by frame, synchronised by timestamp.

Each video's time starts at its first frame (t = 0 there; known start offsets between
cameras can be given in seconds). At every step the earliest pending frame of any view
opens a time slot; every view whose next frame lies within ``tolerance`` seconds of it
contributes that frame, the others are missing (None) for the slot. The run stops when
any video ends: videos of different length give their common span. Only one frame per
view is held at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from anonymotion.io.video import iter_frames, probe
from anonymotion.types import Frame, VideoInfo


@dataclass(frozen=True)
class SyncFrame:
    """One time slot: ``index`` (0, 1, ...), ``t`` seconds, one Frame or None per view."""

    index: int
    t: float
    frames: tuple[Frame | None, ...]

    @property
    def present(self) -> tuple[bool, ...]:
        return tuple(f is not None for f in self.frames)


def default_tolerance(infos: Sequence[VideoInfo]) -> float:
    """Half the shortest frame interval among the videos (seconds); 1/120 s when no rate is known."""
    rates = [i.fps for i in infos if i.fps and i.fps > 0]
    return 0.5 / max(rates) if rates else 1 / 120


def common_frame_count(infos: Sequence[VideoInfo]) -> int:
    """Frames of the common span as far as the headers tell (0 when a header gives no count)."""
    counts = [i.frame_count for i in infos]
    return min(counts) if counts and all(counts) else 0


def iter_synchronised(
    paths: Sequence[str | os.PathLike],
    infos: Sequence[VideoInfo] | None = None,
    *,
    offsets: Sequence[float] | None = None,
    tolerance: float | None = None,
    max_frames: int | None = None,
    span: str = "common",
) -> Iterator[SyncFrame]:
    """Yield time slots over ``paths`` (see the module docstring).

    offsets: seconds added to each video's own times (None: all start together).
    tolerance: seconds within which frames of different views belong to one slot
    (default: half the shortest frame interval). max_frames: stop after this many slots.
    span: "common" (the common span) or "all" (every frame of every video).
    """
    if span not in ("common", "all"):
        raise ValueError(f"span must be 'common' or 'all', not {span!r}")
    paths = [Path(p) for p in paths]
    infos = list(infos) if infos is not None else [probe(p) for p in paths]
    offs = list(offsets) if offsets is not None else [0.0] * len(paths)
    tol = default_tolerance(infos) if tolerance is None else float(tolerance)
    iterators = [iter_frames(p, info) for p, info in zip(paths, infos)]
    heads: list[Frame | None] = [None] * len(paths)
    try:
        for i, it in enumerate(iterators):
            heads[i] = next(it, None)
        index = 0
        start = max((h.t + o for h, o in zip(heads, offs) if h is not None), default=0.0)
        while all(h is not None for h in heads) if span == "common" else any(h is not None for h in heads):
            if max_frames is not None and index >= max_frames:
                break
            times = [h.t + o if h is not None else float("inf") for h, o in zip(heads, offs)]
            t0 = min(times)
            slot = tuple(h if tt <= t0 + tol else None for h, tt in zip(heads, times))
            if span == "all" or t0 >= start - tol:  # before the latest start: outside the common span
                yield SyncFrame(index=index, t=t0, frames=slot)
                index += 1
            for i, f in enumerate(slot):
                if f is not None:
                    heads[i] = next(iterators[i], None)
    finally:
        for it in iterators:
            it.close()  # type: ignore[attr-defined]
