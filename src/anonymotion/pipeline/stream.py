"""Frames paired with their final regions, per region source, in frame order.

Each source (faces, head, body ...) has its own temporal tracker, so a method receives
only the regions of the sources it asked for, held boxes included. The face detector may
run on every n-th frame only (the tracker interpolates between), and detection runs in a
worker thread while the caller anonymizes and encodes earlier frames (onnxruntime and
MediaPipe release the GIL). Frames wait in queues no longer than the detection stride
plus the tracker's hold window, so memory does not grow with video length.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from anonymotion.detect.sources import RegionSource, merge
from anonymotion.types import Frame, Regions


class RegionStream:
    """Run region sources and trackers over frames given in order.

    sources: name -> source. hold: seconds a missed region stays covered. every: the
    "faces" source examines every n-th frame only (1 = all); other sources (pose heads,
    masks) run on every frame. :meth:`push` and :meth:`flush` yield
    (frame, {source name: final Regions}). Boxes are tracked; a source's pixel mask
    (e.g. person segmentation) is kept as found.
    """

    STRIDED = ("faces",)

    def __init__(self, sources: dict[str, RegionSource], hold: float, every: int = 1) -> None:
        from anonymotion.track.regions import RegionTracker

        self.sources = sources
        self.every = max(1, int(every))
        self.trackers = {name: RegionTracker(hold=hold) for name in sources}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect") if sources else None
        self._inflight: deque[tuple[Frame, Future | None]] = deque()
        self._pending: deque[Frame] = deque()
        self._masks: dict[int, dict[str, Regions]] = {}  # per frame: the sources' regions holding a mask
        self._ready: dict[int, dict[str, Regions]] = {}

    def push(self, frame: Frame) -> Iterator[tuple[Frame, dict[str, Regions]]]:
        """Queue ``frame`` for detection; yield every frame whose regions are now final."""
        future = self._pool.submit(self._detect, frame) if self._pool is not None else None
        self._inflight.append((frame, future))
        yield from self._drain(self.every)

    def _detect(self, frame: Frame) -> dict[str, tuple[Regions | None, Regions | None]]:
        """Run in the worker thread, one frame at a time in order (MediaPipe needs increasing t).

        Per source: (regions or None when not examined, weak candidates or None)."""
        examine = frame.index % self.every == 0
        out: dict[str, tuple[Regions | None, Regions | None]] = {}
        for name, source in self.sources.items():
            if not examine and name in self.STRIDED:
                out[name] = (None, None)
            elif hasattr(source, "detect_with_weak"):
                out[name] = source.detect_with_weak(frame.rgb, frame.t)
            else:
                out[name] = (source.detect(frame.rgb, frame.t), None)
        return out

    def _drain(self, limit: int) -> Iterator[tuple[Frame, dict[str, Regions]]]:
        """Hand finished detections to the trackers while more than ``limit`` frames wait."""
        while self._inflight and (len(self._inflight) > limit or self._inflight[0][1] is None
                                  or self._inflight[0][1].done()):
            frame, future = self._inflight.popleft()
            found = future.result() if future is not None else {}
            self._pending.append(frame)
            masks: dict[str, Regions] = {}
            for name, (regions, weak) in found.items():
                boxes = None
                if regions is not None:
                    if regions.mask is not None:
                        masks[name] = regions
                    boxes = Regions(regions.boxes, regions.scores, regions.track_ids, regions.sources,
                                    persons=regions.persons, landmarks=regions.landmarks)
                for index, final in self.trackers[name].push(frame.index, frame.t, boxes, weak):
                    self._ready.setdefault(index, {})[name] = final
            self._masks[frame.index] = masks
            yield from self._settled()

    def flush(self) -> Iterator[tuple[Frame, dict[str, Regions]]]:
        """At the end of the video: every frame still waiting, with its final regions."""
        yield from self._drain(0)
        for name, tracker in self.trackers.items():
            for index, final in tracker.flush():
                self._ready.setdefault(index, {})[name] = final
        yield from self._settled()

    def _settled(self) -> Iterator[tuple[Frame, dict[str, Regions]]]:
        while self._pending:
            index = self._pending[0].index
            ready = self._ready.get(index, {})
            if len(ready) < len(self.trackers):
                return
            frame = self._pending.popleft()
            self._ready.pop(index, None)
            masks = self._masks.pop(index)
            out = {}
            h, w = frame.rgb.shape[:2]
            for name, regions in ready.items():
                regions = clip_to_frame(regions, w, h)
                masked = masks.get(name)
                out[name] = regions if masked is None else replace(
                    regions, mask=masked.mask, mask_parts=masked.mask_parts)
            yield frame, out

    @property
    def gaps(self) -> list[dict]:
        """Every gap the trackers filled, with the source it belongs to."""
        return [dict(gap, source=name) for name, t in self.trackers.items() for gap in t.gaps]

    def close(self) -> None:
        """Stop the detection thread (waiting for its current frame) and release the sources."""
        if self._pool is not None:
            for _, future in self._inflight:
                if future is not None:
                    future.cancel()
            self._pool.shutdown(wait=True)
        for source in self.sources.values():
            source.close()


def clip_to_frame(regions: Regions, width: int, height: int) -> Regions:
    """Boxes cut to the frame; boxes left with no area (e.g. held past the edge) are dropped."""
    if not len(regions):
        return regions
    b = regions.boxes.copy()
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, width)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, height)
    keep = (b[:, 2] - b[:, 0] >= 1) & (b[:, 3] - b[:, 1] >= 1)
    return replace(regions, boxes=b).take(keep)


def select(found: dict[str, Regions], names: tuple[str, ...], height: int, width: int) -> Regions:
    """The union of the named sources' regions (boxes concatenated, masks OR-ed)."""
    return merge([found[n] for n in names if n in found], height, width)
