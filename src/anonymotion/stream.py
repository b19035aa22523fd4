"""Frames paired with their final regions, per region source, in frame order.

Each source (faces, head, body ...) has its own temporal tracker, so a method receives
only the regions of the sources it asked for, held boxes included. Frames wait in a
queue until every tracker has settled their regions: the queue is no longer than the
tracker's hold window, so memory does not grow with video length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from anonymotion.detect.sources import RegionSource, merge
from anonymotion.types import Frame, Regions


class RegionStream:
    """Run region sources and trackers over frames given in order.

    sources: name -> source. hold: seconds a missed region stays covered.
    :meth:`push` and :meth:`flush` yield (frame, {source name: final Regions}).
    Boxes are tracked; a source's pixel mask (e.g. person segmentation) is kept as found.
    """

    def __init__(self, sources: dict[str, RegionSource], hold: float) -> None:
        from anonymotion.track import RegionTracker

        self.sources = sources
        self.trackers = {name: RegionTracker(hold=hold) for name in sources}
        self._pending: deque[Frame] = deque()
        self._masks: dict[int, dict[str, np.ndarray]] = {}
        self._ready: dict[int, dict[str, Regions]] = {}

    def push(self, frame: Frame) -> Iterator[tuple[Frame, dict[str, Regions]]]:
        self._pending.append(frame)
        masks: dict[str, np.ndarray] = {}
        for name, source in self.sources.items():
            found = source.detect(frame.rgb, frame.t)
            if found.mask is not None:
                masks[name] = found.mask
            boxes = Regions(found.boxes, found.scores, found.track_ids, found.sources)
            for index, final in self.trackers[name].push(frame.index, frame.t, boxes):
                self._ready.setdefault(index, {})[name] = final
        self._masks[frame.index] = masks
        yield from self._settled()

    def flush(self) -> Iterator[tuple[Frame, dict[str, Regions]]]:
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
                mask = masks.get(name)
                out[name] = regions if mask is None else Regions(
                    regions.boxes, regions.scores, regions.track_ids, regions.sources, mask)
            yield frame, out

    @property
    def gaps(self) -> list[dict]:
        """Every gap the trackers filled, with the source it belongs to."""
        return [dict(gap, source=name) for name, t in self.trackers.items() for gap in t.gaps]

    def close(self) -> None:
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
    return Regions(b[keep], regions.scores[keep], regions.track_ids[keep],
                   tuple(s for s, k in zip(regions.sources, keep) if k), regions.mask)


def select(found: dict[str, Regions], names: tuple[str, ...], height: int, width: int) -> Regions:
    """The union of the named sources' regions (boxes concatenated, masks OR-ed)."""
    return merge([found[n] for n in names if n in found], height, width)
